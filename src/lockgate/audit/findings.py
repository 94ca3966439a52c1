"""What ``verify`` found: one report per chain, each problem naming a record by its seq."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# problem kinds, in the words the CLI prints
ALTERED = "altered"  # a row's content no longer matches its hash (or the signed chain)
DELETED = "deleted"  # a seq is missing from the chain
REORDERED = "reordered"  # a row is linked after a record that is not its predecessor
TRUNCATED = "truncated"  # a signed checkpoint (or the head) refers past the last row
FORGED = "forged_checkpoint"  # a checkpoint whose signature does not verify with a trusted key
UNANCHORED = "unanchored"  # the oldest rows are gone and no signed prune anchor covers them


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    seq: int
    request_id: str | None
    detail: str

    def line(self) -> str:
        rid = f" (request {self.request_id})" if self.request_id else ""
        return f"seq {self.seq}{rid}: {self.kind}: {self.detail}"


@dataclass(slots=True)
class ChainReport:
    chain_id: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    last_signed_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsealed(self) -> int:
        """Records after the last valid signed checkpoint (a truncation there is not provable)."""
        return max(0, (self.last_seq or 0) - self.last_signed_seq) if self.records else 0

    @property
    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        first = self.first_problem
        return {
            "chain_id": self.chain_id,
            "ok": self.ok,
            "records": self.records,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "checkpoints": self.checkpoints,
            "last_signed_seq": self.last_signed_seq,
            "unsealed": self.unsealed,
            "first_problem": asdict(first) if first else None,
            "problems": [asdict(p) for p in sorted(self.problems, key=lambda p: p.seq)],
        }


@dataclass(slots=True)
class VerifyReport:
    chains: list[ChainReport]
    key_source: str  # "pinned" or "database"
    trusted_keys: list[str]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.chains)

    def chain(self, chain_id: str) -> ChainReport:
        return next(c for c in self.chains if c.chain_id == chain_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "key_source": self.key_source,
            "trusted_keys": self.trusted_keys,
            "chains": [c.as_dict() for c in self.chains],
        }
