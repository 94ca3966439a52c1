"""The kill switch: cut targets (provider name, country code, or law), in memory and in the store.

A target is a configured or catalogue provider name (exact), an upper-case ISO 3166-1 alpha-2
country code (matches the operator country, the parent jurisdiction or any processing
location) or a foreign-access law (case-insensitive, aliases such as ``CLOUD-Act``).  A
self-hosted provider is cut only by its own name.  A hosted provider whose operator country is
unknown is cut by every country or law cut (fail closed).

``version`` grows on every change so that the policy engine drops cached verdicts.  The
running gateway refreshes with ``cuts.replace(load_cuts(engine))`` off the request path.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from lockgate.sovereignty.facts import ResolvedFacts, effective_laws
from lockgate.sovereignty.laws import canonical_law
from lockgate.sovereignty.regions import is_country
from lockgate.storage.tables import provider_cuts


class CutSet:
    def __init__(self, targets: Iterable[str] | None = None) -> None:
        self.version = 0
        self.targets: set[str] = set()
        self._countries: frozenset[str] = frozenset()
        self._laws: dict[str, str] = {}
        self._apply(set(targets or ()))

    def _apply(self, targets: set[str]) -> None:
        laws = {law: t for t in sorted(targets) if (law := canonical_law(t)) is not None}
        self._countries = frozenset(t for t in targets if is_country(t))
        self._laws = laws
        self.targets = targets

    def replace(self, targets: Iterable[str]) -> bool:
        """Swap in a new set of targets; bumps ``version`` only when it differs."""
        new = set(targets)
        if new == self.targets:
            return False
        self._apply(new)
        self.version += 1
        return True

    def add(self, target: str) -> bool:
        return self.replace(self.targets | {target})

    def discard(self, target: str) -> bool:
        return self.replace(self.targets - {target})

    def match(self, provider: str, facts: ResolvedFacts) -> str | None:
        """Return the cut target that applies to this provider, or None."""
        for name in (provider, facts.catalogue):
            if name is not None and name in self.targets:
                return name
        if facts.self_hosted or not (self._countries or self._laws):
            return None
        for country in (facts.operator_country, facts.parent_jurisdiction, *facts.processing_locations):
            if country in self._countries:
                return country
        for law in effective_laws(facts):
            if law in self._laws:
                return self._laws[law]
        if facts.operator_country is None:
            return min(self._countries | set(self._laws.values()))
        return None


@dataclass(frozen=True, slots=True)
class CutRecord:
    target: str
    reason: str | None
    created_at: float


def add_cut(engine: Engine, target: str, reason: str | None = None) -> CutRecord:
    """Persist a cut (a repeated cut keeps its time and updates the reason)."""
    with engine.begin() as conn:
        row = conn.execute(select(provider_cuts).where(provider_cuts.c.target == target)).first()
        if row is not None:
            conn.execute(update(provider_cuts).where(provider_cuts.c.target == target).values(reason=reason))
            return CutRecord(target, reason, float(row.created_at))
        now = time.time()
        conn.execute(insert(provider_cuts).values(target=target, reason=reason, created_at=now))
        return CutRecord(target, reason, now)


def remove_cut(engine: Engine, target: str) -> bool:
    """Lift a cut; False when there was none."""
    with engine.begin() as conn:
        result = conn.execute(delete(provider_cuts).where(provider_cuts.c.target == target))
        return bool(result.rowcount)


def list_cuts(engine: Engine) -> list[CutRecord]:
    with engine.connect() as conn:
        rows = conn.execute(select(provider_cuts).order_by(provider_cuts.c.created_at)).all()
    return [CutRecord(r.target, r.reason, float(r.created_at)) for r in rows]


def load_cuts(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r.target for r in conn.execute(select(provider_cuts.c.target))}
