"""The run record: everything needed to say where a tuned adapter came from.

``RUN_DIR/record.json`` is rewritten at each stage (so an interrupted run says how far it got):
base model and its hash, where the weights came from, dataset hash and size, the split,
hyper-parameters, seed, library versions, the personal-data check and any acknowledgement,
the loss curve, the adapter's registration and hash, and the eval run ids and scores.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, Field

from lockgate import __version__
from lockgate.tune.errors import TuneError

RECORD = "record.json"


class EvalSummary(BaseModel):
    run_id: str
    run_dir: str
    report: str
    scores: dict[str, dict[str, float | int | None]] = Field(default_factory=dict)  # label -> mean, ci, n


class RunRecord(BaseModel):
    run_id: str
    name: str
    status: str = "started"  # started, trained, registered, evaluated, done
    spec_path: str
    spec_digest: str
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    lockgate_version: str = __version__
    base: dict[str, Any] = Field(default_factory=dict)  # artifact id, name, path, sha256, weights source
    dataset: dict[str, Any] = Field(default_factory=dict)
    split: dict[str, Any] = Field(default_factory=dict)  # seed, train/heldout counts and line numbers
    hyper_parameters: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    libraries: dict[str, str] = Field(default_factory=dict)
    pii: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)  # device, seconds, resumed_from, losses
    adapter: dict[str, Any] = Field(default_factory=dict)  # path, sha256, artifact id and name
    eval: EvalSummary | None = None
    timings: dict[str, float] = Field(default_factory=dict)

    def lineage(self) -> dict[str, Any]:
        """What the registry and the ML-BOM carry about the adapter."""
        return {
            "kind": "lora-adapter",
            "tune_run": self.run_id,
            "base": {k: self.base.get(k) for k in ("artifact_id", "name", "sha256", "weights_source")},
            "dataset": {k: self.dataset.get(k) for k in ("sha256", "size_bytes", "examples")},
            "hyper_parameters": self.hyper_parameters,
            "seed": self.seed,
            "libraries": self.libraries,
            "loss_curve": self.training.get("losses", []),
            "pii_ack": self.pii.get("ack"),
            "eval_run_ids": [self.eval.run_id] if self.eval else [],
        }


def new_run_id(name: str) -> str:
    return f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"


def save(run_dir: Path, record: RunRecord) -> None:
    record.updated_at = time.time()
    path = run_dir / RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(record.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
    tmp.replace(path)


def load(run_dir: Path) -> RunRecord:
    path = run_dir / RECORD
    if not path.is_file():
        raise TuneError(f"{run_dir}: no {RECORD}; not a tune run directory")
    return RunRecord.model_validate(orjson.loads(path.read_bytes()))


def list_runs(root: Path) -> list[RunRecord]:
    """Every run under ``root``, oldest first."""
    if not root.is_dir():
        return []
    runs = [load(p.parent) for p in root.glob(f"*/{RECORD}")]
    return sorted(runs, key=lambda r: r.created_at)


def find_run(root: Path, ident: str) -> tuple[Path, RunRecord]:
    """A run by id (or a unique prefix of one) under ``root``, or by its directory."""
    path = Path(ident)
    if (path / RECORD).is_file():
        return path, load(path)
    matches = [r for r in list_runs(root) if r.run_id == ident or r.run_id.startswith(ident)]
    if len(matches) != 1:
        what = "no tune run" if not matches else f"{len(matches)} tune runs"
        raise TuneError(f"{what} match {ident!r} under {root}; see `lockgate tune list`")
    return root / matches[0].run_id, matches[0]
