"""Config shape for personal-data detection."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    max_scan_chars: int = Field(200_000, gt=0)
