"""Validate and normalise a kill-switch target (CLI, admin API and drill share this)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from lockgate.sovereignty.catalogue import CATALOGUE
from lockgate.sovereignty.laws import LAWS, canonical_law
from lockgate.sovereignty.regions import is_country


class InvalidCutTarget(ValueError):
    """The target names no provider, country or law; the message says what is accepted."""


Resolver = Callable[[str, Collection[str]], str | None]


def _provider(target: str, providers: Collection[str]) -> str | None:
    return target if target in providers else None


def _catalogue(target: str, _: Collection[str]) -> str | None:
    name = target.lower()
    return name if name in CATALOGUE else None


def _country(target: str, _: Collection[str]) -> str | None:
    code = target.upper()
    return code if len(target) == 2 and is_country(code) else None


def _law(target: str, _: Collection[str]) -> str | None:
    return canonical_law(target)


#: Tried in order: a configured provider name wins over a country code spelt the same.
RESOLVERS: tuple[tuple[str, Resolver], ...] = (
    ("provider", _provider),
    ("catalogue provider", _catalogue),
    ("country", _country),
    ("law", _law),
)


def classify_target(target: str, providers: Collection[str]) -> tuple[str, str]:
    """(kind, canonical target) of a cut target; raises InvalidCutTarget."""
    cleaned = target.strip()
    for kind, resolve in RESOLVERS:
        found = resolve(cleaned, providers) if cleaned else None
        if found is not None:
            return kind, found
    configured = ", ".join(sorted(providers)) or "none"
    laws = ", ".join(sorted(LAWS))
    raise InvalidCutTarget(
        f"unknown cut target {target!r}: name a configured provider ({configured}), a catalogue "
        f"provider (see 'lockgate providers catalogue'), an ISO 3166-1 alpha-2 country code "
        f"(e.g. CN, US) or a law ({laws})"
    )


def normalise_target(target: str, providers: Collection[str]) -> str:
    return classify_target(target, providers)[1]
