"""Config shape for the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    writer: Literal["process", "thread"] = Field(
        "process",
        description="process: a separate writer process (the chain's work never holds the gateway's "
        "GIL); thread: a thread inside the gateway process.",
    )
    batch_size: int = Field(256, ge=1)
    flush_interval: float = Field(
        0.5,
        gt=0,
        description="Seconds between batch writes. With writer: thread it is also the crash-loss window; "
        "with writer: process every answered request's record is in the writer process before the "
        "answer's last byte leaves.",
    )
    queue_max: int = Field(100_000, ge=100)
    checkpoint_every: int = Field(1000, ge=1, description="Records between signed checkpoints.")
    signing_key: Path | None = Field(None, description="Ed25519 private key (PEM); default in data_dir.")
    trusted_keys: list[Path] = Field(
        default_factory=list,
        description="Public keys (PEM, from 'lockgate audit pubkey') that 'lockgate audit verify' and "
        "'audit prune' trust besides the current signing key: the keys this chain was signed with before "
        "a rotation. --public-key on verify replaces them all.",
    )
    retention_days: int = Field(190, ge=183, description="At least six months (AI Act Art. 26(6)).")
    log_content: bool = False
    content_key: SecretStr | None = Field(None, description="Key for encrypting stored bodies (use ${ENV}).")
    chain_id: str = Field(
        "main",
        min_length=1,
        max_length=64,
        description="Name of the hash chain; gateways sharing one PostgreSQL store share one chain.",
    )
    sign_interval: float = Field(
        5.0,
        gt=0,
        description="Seconds: while records arrive, the chain head is signed at least this often "
        "(and always on shutdown), so 'lockgate audit verify' detects a truncation of anything older "
        "from signed data alone.",
    )
    on_writer_failure: Literal["wait", "reject"] = Field(
        "wait",
        description="When the audit writer process is down (it is restarted at once, and every record "
        "it had not committed is re-sent) or its backlog is full. wait: requests are served, and each "
        "answer's last bytes wait up to writer_wait seconds for the record to reach a writer; after that "
        "the answer goes out and the record stays queued in the gateway (lost only if the gateway dies "
        "too). reject: new requests are refused with 503 until a writer holds the backlog again; "
        "availability is traded for never answering without a record.",
    )
    writer_wait: float = Field(
        10.0, gt=0, description="Seconds an answer waits for its record to reach the audit writer process."
    )
    retry_initial: float = Field(0.2, gt=0, description="Seconds before the first retry of a failed batch.")
    retry_max: float = Field(10.0, gt=0, description="Longest wait between retries of a failed batch.")

    @model_validator(mode="after")
    def _content_key_when_logging(self) -> AuditConfig:
        if self.log_content and (self.content_key is None or not self.content_key.get_secret_value()):
            raise ValueError(
                "audit.content_key: required when audit.log_content is true (use ${ENV_VAR} or file:/path)"
            )
        return self
