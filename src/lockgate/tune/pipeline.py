"""One tune run: data checks, training, export, registration, evaluation, each on the record.

``run`` is what ``lockgate tune run`` calls.  The record is saved after every stage; with
``resume`` the newest unfinished run of the same spec (same spec digest) continues from its
last training checkpoint and skips the stages it already finished.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from lockgate.config.schema import GatewayConfig
from lockgate.eval.results import ItemResult
from lockgate.registry.acks import acknowledged_rules
from lockgate.registry.artifacts import verify
from lockgate.registry.files import sha256_file
from lockgate.registry.records import Artifact, get_artifact
from lockgate.tune import record as records
from lockgate.tune.checks import require_basis, scan_dataset
from lockgate.tune.dataset import Dataset, load_dataset, split
from lockgate.tune.errors import TuneError
from lockgate.tune.evaluate import Difference, run_eval
from lockgate.tune.export import write_adapter
from lockgate.tune.gateway import GatewayPlan
from lockgate.tune.lineage import register_adapter, resolve_base, update_lineage
from lockgate.tune.record import RunRecord
from lockgate.tune.spec import RunSpec

ADAPTER_FILE = "adapter.gguf"


class Reporter(Protocol):
    def stage(self, text: str) -> None: ...
    def step(self, info: Any) -> None: ...  # train.StepInfo
    def eval_result(self, result: ItemResult) -> None: ...
    def eval_total(self, n: int) -> None: ...


@dataclass
class Outcome:
    run_dir: Path
    record: RunRecord
    difference: Difference | None = None
    notes: list[str] = field(default_factory=list)


def tune_root(cfg: GatewayConfig) -> Path:
    return cfg.state_dir / "tune"


def _start(root: Path, spec: RunSpec, spec_path: Path, resume: bool) -> tuple[Path, RunRecord]:
    """The unfinished run to resume, or a new record (its directory is made once the data passed)."""
    if resume:
        open_runs = [
            r
            for r in records.list_runs(root)
            if r.name == spec.name and r.status != "done" and r.spec_digest == spec.digest()
        ]
        if not open_runs:
            raise TuneError(f"--resume: no unfinished run of {spec.name!r} with this spec under {root}")
        return root / open_runs[-1].run_id, open_runs[-1]
    rec = RunRecord(
        run_id=records.new_run_id(spec.name),
        name=spec.name,
        spec_path=str(spec_path.resolve()),
        spec_digest=spec.digest(),
        seed=spec.seed,
        hyper_parameters=spec.hyper_parameters(),
    )
    return root / rec.run_id, rec


def _check_data(rec: RunRecord, spec: RunSpec, cfg: GatewayConfig, ack: str | None) -> Dataset:
    dataset = load_dataset(spec.dataset)
    if rec.dataset and rec.dataset.get("sha256") != dataset.sha256:
        raise TuneError(f"--resume: {spec.dataset} changed since run {rec.run_id} started; start a new run")
    report = require_basis(scan_dataset(dataset, cfg.pii), ack or (rec.pii.get("ack") or {}).get("reason"))
    train_lines, held_lines = split(dataset, spec.heldout, spec.seed)
    rec.dataset = dataset.describe()
    rec.pii = report.to_json()
    rec.split = {
        "seed": spec.seed,
        "train": len(train_lines),
        "heldout": len(held_lines),
        "heldout_lines": held_lines,
    }
    return dataset


def _base(engine: Engine, rec: RunRecord, spec: RunSpec) -> Artifact:
    base = resolve_base(engine, spec.base)
    report = verify(engine, base.id)
    if not report.ok:
        raise TuneError(f"base {base.name}: files differ from their pins ({report.diff.describe()})")
    source = "original-weights" if spec.weights is not None else "dequantized-gguf"
    rec.base = {
        "artifact_id": base.id,
        "name": base.name,
        "path": base.path,
        "sha256": base.files[0].sha256,
        "weights_source": source,
        "weights_path": str(spec.weights) if spec.weights else None,
    }
    return base


def _train_and_export(run_dir: Path, rec: RunRecord, spec: RunSpec, dataset: Dataset, rep: Reporter) -> Path:
    from lockgate.tune import train  # torch, transformers, peft: only now

    rec.libraries = train.library_versions()
    held = set(rec.split["heldout_lines"])
    examples = [ex for n, ex in dataset.examples if n not in held]
    source = train.BaseSource(Path(rec.base["path"]), spec.weights)
    rep.stage(
        f"training LoRA r={spec.lora.r} on {len(examples)} examples ({source.kind}), "
        f"{spec.train.steps} steps of {spec.train.batch_size}"
    )
    result = train.train(
        source, examples, spec.lora, spec.train, spec.seed, run_dir / "checkpoints", rep.step
    )
    rec.training = {
        "device": result.device,
        "seconds": round(result.seconds, 1),
        "resumed_from_step": result.resumed_from,
        "losses": result.losses,
    }
    started = time.perf_counter()
    path = write_adapter(
        run_dir / ADAPTER_FILE,
        result.lora,
        result.config,
        spec.lora.alpha,
        rec.base["sha256"],
        {"lockgate.tune.run": rec.run_id, "lockgate.dataset.sha256": rec.dataset["sha256"]},
    )
    rec.timings["train_s"] = round(result.seconds, 1)
    rec.timings["export_s"] = round(time.perf_counter() - started, 2)
    rec.adapter = {"path": str(path), "sha256": sha256_file(path), "size_bytes": path.stat().st_size}
    if spec.output is not None:  # the run keeps its own copy; the published one is registered
        spec.output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, spec.output)
        rec.adapter |= {"path": str(spec.output), "run_copy": str(path)}
    return path


def _evaluate(
    run_dir: Path,
    rec: RunRecord,
    spec: RunSpec,
    cfg: GatewayConfig,
    engine: Engine,
    dataset: Dataset,
    rep: Reporter,
) -> Difference | None:
    base, adapter = (
        get_artifact(engine, rec.base["artifact_id"]),
        get_artifact(engine, rec.adapter["artifact_id"]),
    )
    held = set(rec.split["heldout_lines"])
    heldout = [(n, ex) for n, ex in dataset.examples if n in held]
    plan = GatewayPlan(
        state_dir=run_dir / "gateway",
        base_model=Path(base.path),
        adapter=Path(adapter.path),
        operator=cfg.operator.model_dump(mode="json"),
        acknowledge=sorted(acknowledged_rules(engine, base.id)),
    )
    rep.stage(f"evaluating base vs tuned on {len(heldout)} held-out examples through a gateway")
    rep.eval_total(len(heldout))
    started = time.perf_counter()
    summary, diff = run_eval(run_dir, heldout, spec.eval, plan, [base, adapter], rep.eval_result)
    rec.timings["eval_s"] = round(time.perf_counter() - started, 1)
    rec.eval = summary
    if diff is not None:
        rec.eval.scores["difference"] = {
            "mean": diff.mean,
            "ci_low": diff.ci_low,
            "ci_high": diff.ci_high,
            "n": diff.n,
        }
    update_lineage(engine, rec.adapter["artifact_id"], rec)
    return diff


def run(
    spec: RunSpec,
    spec_path: Path,
    cfg: GatewayConfig,
    engine: Engine,
    rep: Reporter,
    ack: str | None = None,
    resume: bool = False,
    evaluate: bool = True,
) -> Outcome:
    """Run (or resume) a tune run; raises ``TuneError`` with a one-line message on bad input."""
    started = time.perf_counter()
    run_dir, rec = _start(tune_root(cfg), spec, spec_path, resume)
    dataset = _check_data(rec, spec, cfg, ack)  # refuses before anything is written
    base = _base(engine, rec, spec)
    run_dir.mkdir(parents=True, exist_ok=True)
    records.save(run_dir, rec)
    if rec.status == "started":
        _train_and_export(run_dir, rec, spec, dataset, rep)
        rec.status = "trained"
        records.save(run_dir, rec)
    if rec.status == "trained":
        art = register_adapter(
            engine, base, rec, rec.adapter["path"], cfg.operator.name, cfg.operator.domicile
        )
        rec.adapter |= {"artifact_id": art.id, "name": art.name}
        rec.status = "registered"
        records.save(run_dir, rec)
    diff = None
    if evaluate and spec.eval.enabled:
        diff = _evaluate(run_dir, rec, spec, cfg, engine, dataset, rep)
    rec.status = "done"
    rec.timings["total_s"] = round(rec.timings.get("total_s", 0.0) + time.perf_counter() - started, 1)
    records.save(run_dir, rec)
    return Outcome(run_dir, rec, diff)
