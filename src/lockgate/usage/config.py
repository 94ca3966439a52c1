"""Config shapes for prices, budgets and rate limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PriceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = "EUR"
    input_per_million: float = Field(0.0, ge=0)
    output_per_million: float = Field(0.0, ge=0)
    cached_per_million: float | None = Field(None, ge=0)
    hardware_per_hour: float | None = Field(
        None, ge=0, description="Self-hosted: hourly hardware price; cost follows measured throughput."
    )


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    spend_per_day: float | None = Field(None, ge=0)
    spend_per_month: float | None = Field(None, ge=0)


class LimitsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: dict[str, Limit] = Field(default_factory=dict, description="By key name.")
    teams: dict[str, Limit] = Field(default_factory=dict)
    default_key: Limit | None = None
    sync_interval: float = Field(1.0, gt=0, description="Seconds between shared-counter syncs (PostgreSQL).")
