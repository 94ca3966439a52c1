"""What a provider has measured of its own capacity, in one shape for the admin API and /metrics.

Every figure comes from the engine's own counters (``/stats`` of each replica); nothing is
estimated here.  A provider that has measured nothing says so: the figures are ``None`` and
``reason`` names why (a remote API, an engine without batching, no generation seen yet).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

REMOTE = "a remote provider does not report its capacity; declare capacity.tokens_per_minute in its config"


@dataclass(frozen=True, slots=True)
class MeasuredCapacity:
    tokens_per_second: float | None = None  # generated tokens/s now (last 10 s), summed over replicas
    batch_size: float | None = None  # mean sequences per decode step over the same window
    peak_tokens_per_second: float | None = None  # the highest summed rate seen since start
    peak_batch_size: float | None = None  # the batch size at that peak
    peak_measured_at: float | None = None  # unix seconds of the peak
    slots: int | None = None  # sequence slots over all replicas (the batch size it can reach)
    queue_depth: int | None = None
    active_sequences: int | None = None
    kv_cells_used: int | None = None
    kv_cells_cached: int | None = None
    kv_cells_total: int | None = None
    measured_at: float | None = None  # unix seconds of the last successful poll
    reason: str | None = None  # why a figure is missing, or None when everything is measured

    @classmethod
    def unmeasured(cls, reason: str) -> MeasuredCapacity:
        return cls(reason=reason)

    @property
    def peak_tokens_per_minute(self) -> float | None:
        return None if self.peak_tokens_per_second is None else round(self.peak_tokens_per_second * 60, 1)

    @property
    def lower_bound(self) -> bool:
        """The peak was seen below the batch size the engine can reach: it may carry more."""
        if self.peak_batch_size is None or self.slots is None:
            return False
        return self.peak_batch_size < self.slots

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["peak_tokens_per_minute"] = self.peak_tokens_per_minute
        out["peak_is_lower_bound"] = self.lower_bound
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasuredCapacity:
        """Read back what ``as_dict`` wrote (e.g. from a gateway's admin API); unknown keys are ignored."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})
