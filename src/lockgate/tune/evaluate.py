"""Base against tuned on the held-out split, through a gateway, with the eval machinery.

The held-out examples become an eval suite (``RUN_DIR/heldout.jsonl``: the conversation up to
the answer, the reference answer as ``expected``, the spec's scorer, greedy decoding), which
``lockgate.eval`` runs against the ``base`` and ``tuned`` aliases of the run's own gateway
(``gateway.py``), writing its usual run directory, results and HTML report.  The summary adds
the paired difference (tuned minus base, item by item) with a bootstrap 95% interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from lockgate.eval.backend import OpenAIBackend
from lockgate.eval.metrics import bootstrap, compute
from lockgate.eval.results import ItemResult, ModelSpec
from lockgate.eval.scorers import ScorerConfigError, build_scorers
from lockgate.eval.session import RunOutcome, RunRequest, execute, new_run_id
from lockgate.eval.suite import SuiteError
from lockgate.registry.artifacts import AddOptions, add
from lockgate.registry.records import Artifact, find_artifact
from lockgate.storage.db import open_store
from lockgate.tune.dataset import Example
from lockgate.tune.errors import TuneError
from lockgate.tune.gateway import BASE_ALIAS, TUNED_ALIAS, GatewayPlan, served
from lockgate.tune.record import EvalSummary
from lockgate.tune.spec import EvalSpec

SUITE_FILE = "heldout.jsonl"
CALL_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Difference:
    mean: float
    ci_low: float
    ci_high: float
    n: int


def write_suite(path: Path, examples: list[tuple[int, Example]], spec: EvalSpec) -> Path:
    scorer = {"name": spec.scorer, "params": spec.params}
    params = {"temperature": 0, "max_tokens": spec.max_tokens}
    lines = [
        orjson.dumps(
            {
                "id": f"line-{n}",
                "messages": ex.prompt(),
                "expected": ex.answer,
                "scorer": scorer,
                "params": params,
                "tags": ["heldout"],
            }
        )
        for n, ex in examples
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def pin_in(engine: Engine, art: Artifact) -> None:
    """Register ``art``'s file in the evaluation gateway's store with the same terms."""
    if find_artifact(engine, art.path) is not None:
        return
    opts = AddOptions(
        name=art.name,
        licence=art.licence_id,
        checkpoint=art.checkpoint,
        base_model=art.base_model,
        metadata=art.metadata,
    )
    pinned = add(engine, art.path, opts)
    if pinned.files != art.files:
        raise TuneError(f"{art.path} changed since it was registered as {art.id}; re-register it")


def difference(results: list[ItemResult]) -> Difference | None:
    """Paired tuned-minus-base score difference over the items both answered."""
    scores: dict[str, dict[str, float]] = {}
    for r in results:
        if r.score is not None and r.error is None:
            scores.setdefault(r.item_id, {})[r.model] = r.score
    diffs = [s[TUNED_ALIAS] - s[BASE_ALIAS] for s in scores.values() if len(s) == 2]
    if not diffs:
        return None
    low, high = bootstrap(diffs)
    return Difference(sum(diffs) / len(diffs), low, high, len(diffs))


async def _execute(req: RunRequest, on_result: Callable[[ItemResult], None] | None) -> RunOutcome:
    """The eval run, with a patient client: a busy CPU engine may queue a request for minutes,
    and a client that gives up makes the engine do the work twice."""
    backend = OpenAIBackend(
        req.base_url, req.api_key, f"eval:{req.run_id}", req.retry, timeout_s=CALL_TIMEOUT_S
    )
    try:
        return await execute(req, on_result=on_result, backend=backend)
    finally:
        await backend.close()


def run_eval(
    run_dir: Path,
    heldout: list[tuple[int, Example]],
    spec: EvalSpec,
    plan: GatewayPlan,
    pins: list[Artifact],
    on_result: Callable[[ItemResult], None] | None = None,
) -> tuple[EvalSummary, Difference | None]:
    suite = write_suite(run_dir / SUITE_FILE, heldout, spec)
    run_id = new_run_id()
    req = RunRequest(
        suite=str(suite),
        models=[ModelSpec.parse(BASE_ALIAS), ModelSpec.parse(TUNED_ALIAS)],
        out=run_dir / "eval" / run_id,
        concurrency=spec.concurrency,
        run_id=run_id,
    )
    try:
        build_scorers(req.load())
    except (SuiteError, ScorerConfigError) as exc:
        raise TuneError(f"eval: {exc}") from None
    store = open_store(f"sqlite:///{plan.state_dir / 'lockgate.db'}")
    try:
        for art in pins:
            pin_in(store, art)
    finally:
        store.dispose()
    with served(plan) as base_url:
        req.base_url = base_url
        outcome = asyncio.run(_execute(req, on_result))
    metrics = compute(outcome.runner.results, [BASE_ALIAS, TUNED_ALIAS])
    scores: dict[str, dict[str, Any]] = {
        label: {
            "mean": g.mean,
            "ci_low": g.ci_low,
            "ci_high": g.ci_high,
            "graded": g.graded,
            "n": g.n,
            "failures": g.failures,
        }
        for label, g in metrics.by_model.items()
    }
    summary = EvalSummary(
        run_id=run_id, run_dir=str(req.out), report=str(req.out / "report.html"), scores=scores
    )
    return summary, difference(outcome.runner.results)
