"""Config shapes for the operator's standing and the model registry."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class OperatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    domicile: str = Field("DE", description="ISO country of the operator's legal seat.")
    commercial_use: bool = True
    monthly_active_users: int = Field(0, ge=0)
    annual_revenue_eur: float = Field(0, ge=0)


class RegistryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enforce: bool = Field(
        True, description="Local engines only serve registered, verified, licensed artifacts."
    )
    verify_hashes_at_start: bool = True
    signing_public_keys: list[Path] = Field(
        default_factory=list,
        description="PEM public keys (EC P-256) trusted to verify OpenSSF model-signing signatures offline.",
    )
    signing_certificates: list[Path] = Field(
        default_factory=list,
        description="PEM CA certificates forming the root of trust for certificate-signed models.",
    )
