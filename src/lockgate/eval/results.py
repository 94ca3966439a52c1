"""What a run produces: model specs, one ``ItemResult`` per (model, item), run metadata, files.

A *model spec* is an alias plus optional sampling parameters, written
``alias@key=value@key=value`` (for example ``smollm2@temperature=1.2``); two specs of the
same alias are two distinct "models" in the report.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lockgate.eval.suite import GenParams


class ModelSpecError(ValueError):
    pass


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: str
    alias: str
    params: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str) -> ModelSpec:
        alias, *pairs = spec.strip().split("@")
        if not alias:
            raise ModelSpecError(f"model spec '{spec}': the model alias before '@' is empty")
        params: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise ModelSpecError(
                    f"model spec '{spec}': '{pair}' must look like key=value (e.g. temperature=0.7)"
                )
            params[key.strip()] = yaml.safe_load(value)
        try:
            GenParams.model_validate(params)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ModelSpecError(f"model spec '{spec}': parameter '{where}': {err['msg']}") from None
        return cls(label=spec.strip(), alias=alias, params=params)


def parse_models(value: str) -> list[ModelSpec]:
    specs = [ModelSpec.parse(s) for s in value.split(",") if s.strip()]
    labels = [s.label for s in specs]
    if not specs:
        raise ModelSpecError("--models: give at least one model alias, e.g. --models smollm2")
    if len(set(labels)) != len(labels):
        raise ModelSpecError("--models: a model spec is listed twice")
    return specs


class ItemResult(BaseModel):
    model: str  # the model spec label
    item_id: str
    tags: list[str] = Field(default_factory=list)
    expected: Any = None
    scorer: str = ""
    binary: bool = True
    score: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    text: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    refused: bool = False
    refusal_rule: str | None = None
    ttft_s: float | None = None
    gen_s: float = 0.0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    deployment: str | None = None
    cached: bool = False
    attempts: int = 0
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or self.score is None


class ModelInfo(BaseModel):
    label: str
    alias: str
    params: dict[str, Any] = Field(default_factory=dict)
    deployments: dict[str, int] = Field(default_factory=dict)
    providers: dict[str, int] = Field(default_factory=dict)
    jurisdictions: dict[str, int] = Field(default_factory=dict)
    policies: dict[str, int] = Field(default_factory=dict)
    registry: dict[str, Any] = Field(default_factory=dict)  # GET /v1/models "lockgate" extension


class RunInfo(BaseModel):
    run_id: str
    suite: str
    suite_name: str
    about: dict[str, str] = Field(default_factory=dict)
    base_url: str
    models: list[str]
    judge: str | None = None
    tags: list[str] | None = None
    sample: int | None = None
    seed: int = 0
    concurrency: int = 4
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    currency: str = "EUR"
    started_at: str = ""
    finished_at: str | None = None
    complete: bool = False
    lockgate_version: str = ""


CSV_FIELDS = (
    "model", "item_id", "tags", "scorer", "score", "refused", "refusal_rule", "ttft_s", "gen_s", "latency_s",
    "prompt_tokens", "completion_tokens", "cost", "deployment", "cached", "attempts", "error", "text",
)  # fmt: skip


def results_csv(results: list[ItemResult]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in results:
        row = r.model_dump()
        row["tags"] = " ".join(r.tags)
        writer.writerow(row)
    return buf.getvalue()


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())
