"""The run spec: a YAML file naming the dataset, the base model and the hyper-parameters.

name: tickets
base: bundled:smollm2          # a registered GGUF (name, id or path)
weights: null                  # a local Hugging Face folder of the base's original weights
dataset: tickets.jsonl         # relative paths are taken from the spec's folder
output: ~/.lockgate/tune/tickets.gguf   # also publish the adapter here (what a config serves)
heldout: 0.2
seed: 7
lora: {r: 8, alpha: 16, dropout: 0.0, targets: [q_proj, v_proj]}
train: {steps: 120, batch_size: 8, learning_rate: 0.002, max_length: 256, ...}
eval: {scorer: json_fields, max_tokens: 32}
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lockgate.tune.errors import TuneError

#: HF module names of a llama-family block that a LoRA may target (export maps each to llama.cpp's)
Target = Literal["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _default_targets() -> list[Target]:
    return ["q_proj", "v_proj"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSpec(_Strict):
    r: int = Field(8, ge=1, le=256)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    targets: list[Target] = Field(default_factory=_default_targets, min_length=1)


class TrainSpec(_Strict):
    steps: int = Field(100, ge=1)
    batch_size: int = Field(8, ge=1, le=512)
    learning_rate: float = Field(2e-3, gt=0, le=1)
    warmup_steps: int = Field(10, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    max_length: int = Field(256, ge=16)
    checkpoint_every: int = Field(20, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class EvalSpec(_Strict):
    scorer: str = Field("exact", description="An eval scorer; 'expected' is the held-out answer.")
    params: dict[str, Any] = Field(default_factory=dict)
    max_tokens: int = Field(64, ge=1)
    concurrency: int = Field(4, ge=1, le=64)
    enabled: bool = True


class RunSpec(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    base: str = "bundled:smollm2"
    weights: Path | None = None
    dataset: Path
    output: Path | None = Field(None, description="Also publish the adapter here (the path a config serves).")
    heldout: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    eval: EvalSpec = Field(default_factory=EvalSpec)

    def hyper_parameters(self) -> dict[str, Any]:
        return {"lora": self.lora.model_dump(), "train": self.train.model_dump(), "heldout": self.heldout}

    def digest(self) -> str:
        """What decides the trained weights: a resumed run must have the same."""
        data = self.model_dump(mode="json", exclude={"eval", "output"})
        return hashlib.sha256(yaml.safe_dump(data, sort_keys=True).encode()).hexdigest()


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(spec)"
    return f"field '{loc}': {err['msg']}"


def load_spec(path: Path) -> RunSpec:
    """Read and validate a run spec; relative paths are resolved against its folder."""
    if not path.is_file():
        raise TuneError(f"{path}: no such run spec file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise TuneError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise TuneError(f"{path}: a run spec is a mapping (name, base, dataset, lora, train, eval)")
    try:
        spec = RunSpec.model_validate(data)
    except ValidationError as exc:
        raise TuneError(f"{path}: {_first_error(exc)}") from None
    folder = path.resolve().parent
    updates: dict[str, Any] = {"dataset": (folder / spec.dataset).resolve()}
    for key in ("weights", "output"):
        value = getattr(spec, key)
        if value is not None:
            updates[key] = (folder / value.expanduser()).resolve()
    return spec.model_copy(update=updates)
