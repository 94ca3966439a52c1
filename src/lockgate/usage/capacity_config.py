"""The capacity an operator declares for a provider that cannot measure its own (a remote API)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CapacityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens_per_minute: int = Field(
        ge=1,
        description=(
            "Generated (completion) tokens per minute this provider can carry for this gateway, "
            "shared by all its deployments: e.g. the output-token rate limit of the account. "
            "Used by 'lockgate capacity' and the drill when the provider has measured nothing."
        ),
    )
