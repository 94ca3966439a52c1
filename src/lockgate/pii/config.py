"""Config shape for personal-data detection."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lockgate.pii.kinds import DETECTOR_NAMES, TYPE_FAMILIES, family

Action = Literal["route", "redact", "block"]
# When a request carries types with different actions, the strictest one applies.
_STRICTNESS: dict[str, int] = {"redact": 0, "route": 1, "block": 2}


class PiiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    action: Action = Field(
        "route",
        description="route: apply the personal-data policy; redact: replace values with placeholders "
        "for providers outside it and restore them in replies; block: refuse the request.",
    )
    types: dict[str, Action] = Field(
        default_factory=dict,
        description="Action per type, overriding `action` for that type: e.g. {health: block, name: route}. "
        "A key names a type (`national_id:de`) or a family (`national_id`, `name`, `address`, `health`, "
        "`unscanned`). A request carrying several types gets the strictest of their actions "
        "(block, then route, then redact).",
    )
    detectors: list[str] | None = Field(None, description="Subset of detector names; None = all.")
    phone_regions: list[str] = Field(default_factory=lambda: ["DE", "FR", "IT", "ES", "NL", "PL", "GB"])
    cache_entries: int = Field(
        4096,
        ge=0,
        description="Scanned texts remembered by content digest (LRU), so the history a chat client "
        "resends every turn is not scanned again; 0 disables.",
    )
    max_scan_chars: int = Field(200_000, gt=0)

    def action_for(self, kinds: Iterable[str]) -> Action:
        """The action for a request carrying `kinds`: the strictest of their per-type actions."""
        chosen: Action | None = None
        for kind in kinds:
            action = self.types.get(kind) or self.types.get(family(kind)) or self.action
            if chosen is None or _STRICTNESS[action] > _STRICTNESS[chosen]:
                chosen = action
        return chosen or self.action

    @field_validator("detectors")
    @classmethod
    def _known_detectors(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(DETECTOR_NAMES))
        if unknown:
            raise ValueError(f"unknown detector(s) {unknown}; choose from {sorted(DETECTOR_NAMES)}")
        return value

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: dict[str, Action]) -> dict[str, Action]:
        unknown = sorted(k for k in value if family(k) not in TYPE_FAMILIES)
        if unknown:
            raise ValueError(f"unknown type(s) {unknown}; choose from {sorted(TYPE_FAMILIES)}")
        return value

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - phonenumbers.SUPPORTED_REGIONS)
        if unknown:
            raise ValueError(f"unknown phone region(s) {unknown}; use ISO 3166 codes such as DE, FR")
        return value
