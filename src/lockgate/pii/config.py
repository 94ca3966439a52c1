"""Config shape for personal-data detection."""

from __future__ import annotations

from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator


class PiiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    action: Literal["route", "redact", "block"] = Field(
        "route",
        description="route: apply the personal-data policy; redact: replace values with placeholders "
        "for providers outside it and restore them in replies; block: refuse the request.",
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

    @field_validator("detectors")
    @classmethod
    def _known_detectors(cls, value: list[str] | None) -> list[str] | None:
        from lockgate.pii.registry import DETECTORS  # the registry imports this module

        unknown = sorted(set(value or ()) - set(DETECTORS))
        if unknown:
            raise ValueError(f"unknown detector(s) {unknown}; choose from {sorted(DETECTORS)}")
        return value

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - phonenumbers.SUPPORTED_REGIONS)
        if unknown:
            raise ValueError(f"unknown phone region(s) {unknown}; use ISO 3166 codes such as DE, FR")
        return value
