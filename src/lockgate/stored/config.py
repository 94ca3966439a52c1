"""Config shape for stored responses (the Responses API's ``store`` and ``previous_response_id``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ResponsesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: bool = Field(
        True,
        description="Keep responses sent with store: true, so previous_response_id and "
        "GET /v1/responses/{id} work. They are encrypted with audit.content_key (required; without "
        "it storing is refused with a 400) and kept for audit.retention_days.",
    )
    cache_size: int = Field(
        1024, ge=0, description="Recent stored responses each gateway keeps in memory (0: none)."
    )
