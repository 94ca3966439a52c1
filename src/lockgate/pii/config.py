"""Config shape for personal-data detection."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from lockgate.pii.kinds import DETECTOR_NAMES, NER_DETECTOR, TYPE_FAMILIES, family

Action = Literal["route", "redact", "block"]
# When a request carries types with different actions, the strictest one applies.
_STRICTNESS: dict[str, int] = {"redact": 0, "route": 1, "block": 2}


class NerConfig(BaseModel):
    """The optional NER backend (Presidio over a local spaCy pipeline); see docs/pii.md."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False, description="Also run the NER backend (needs `pip install 'lockgate[ner]'`)."
    )
    pipeline: Path | None = Field(
        None,
        description="Directory of a spaCy pipeline (`nlp.to_disk`), registered with `lockgate models add`; "
        "the gateway refuses to start unless the registry's gate passes it. Never a package name.",
    )
    acknowledge: list[str] = Field(
        default_factory=list,
        description="Scan or licence rule ids of the pipeline accepted after review (as for engines).",
    )
    threads: int = Field(
        1, ge=1, le=8, description="Worker threads the NER backend runs in, off the event loop."
    )

    @field_validator("pipeline")
    @classmethod
    def _pipeline_is_directory(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        value = value.expanduser()
        if info.data.get("enabled") and not value.is_dir():
            raise ValueError(f"no such directory {str(value)!r}; name the folder of a spaCy pipeline")
        return value

    @model_validator(mode="after")
    def _pipeline_when_enabled(self) -> NerConfig:
        if self.enabled and self.pipeline is None:
            raise ValueError("pipeline: required when pii.ner.enabled is true (a spaCy pipeline directory)")
        return self


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
    detectors: list[str] | None = Field(
        None, description="Subset of detector names; None = all (`ner` only with `ner.enabled`)."
    )
    phone_regions: list[str] = Field(default_factory=lambda: ["DE", "FR", "IT", "ES", "NL", "PL", "GB"])
    cache_entries: int = Field(
        4096,
        ge=0,
        description="Scanned texts remembered by content digest (LRU), so the history a chat client "
        "resends every turn is not scanned again; 0 disables.",
    )
    max_scan_chars: int = Field(200_000, gt=0)
    ner: NerConfig = Field(default_factory=NerConfig, description="Optional NER backend; off by default.")

    def active_detectors(self) -> list[str]:
        """The detectors to run, in registration order: `detectors` (or all), the NER backend
        only when `ner.enabled`."""
        chosen = DETECTOR_NAMES if self.detectors is None else self.detectors
        return [n for n in DETECTOR_NAMES if n in chosen and (n != NER_DETECTOR or self.ner.enabled)]

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

    @model_validator(mode="after")
    def _ner_listed_needs_enabled(self) -> PiiConfig:
        if self.detectors and NER_DETECTOR in self.detectors and not self.ner.enabled:
            raise ValueError(f"detectors: {NER_DETECTOR!r} needs pii.ner.enabled and pii.ner.pipeline")
        return self

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
