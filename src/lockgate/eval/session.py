"""One evaluation run, end to end: resolve the suite, run, and write the run directory.

A run directory holds::

    run.json        what was asked (suite, models, options, run id); ``--resume DIR`` reads it
    cache.sqlite    completions, committed one by one (unless --cache points elsewhere)
    results.json    run metadata, per-model info, metrics and every item result
    results.csv     one row per (model, item)
    report.html     the self-contained report
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lockgate import __version__
from lockgate.eval.backend import ChatBackend, OpenAIBackend, RetryPolicy
from lockgate.eval.cache import CompletionCache
from lockgate.eval.metrics import compute
from lockgate.eval.report import render_report
from lockgate.eval.results import ItemResult, ModelSpec, RunInfo, read_json, results_csv, write_json
from lockgate.eval.runner import Runner
from lockgate.eval.scorers import build_scorers
from lockgate.eval.suite import Suite, SuiteError, load_suite

PACK_SUFFIX = ".yaml"


def packs_dir() -> Path:
    return Path(str(resources.files("lockgate.eval").joinpath("packs")))


def shipped_packs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(packs_dir().glob(f"*{PACK_SUFFIX}")) if p.stem != "framing_lexicon"}


def resolve_suite(name: str) -> Path:
    """A suite file path, or the name of a shipped pack."""
    path = Path(name)
    if path.exists():
        return path
    pack = shipped_packs().get(name)
    if pack is None:
        raise SuiteError(
            f"suite '{name}': no such file and no shipped pack of that name (see 'lockgate eval packs')"
        )
    return pack


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class RunRequest:
    suite: str
    models: list[ModelSpec]
    out: Path
    base_url: str = "http://127.0.0.1:8080/v1"
    api_key: str = "none"
    concurrency: int = 4
    tags: list[str] | None = None
    sample: int | None = None
    seed: int = 0
    judge: str | None = None
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    cache_path: Path | None = None
    run_id: str = field(default_factory=new_run_id)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def load(self) -> Suite:
        suite = load_suite(resolve_suite(self.suite)).select(self.tags, self.sample, self.seed)
        if not suite.items:
            raise SuiteError(f"suite '{self.suite}': no items carry the tags {self.tags}")
        return suite

    def info(self, suite: Suite) -> RunInfo:
        prices = {k: (v.input, v.output) for k, v in suite.prices.items()} | self.prices
        return RunInfo(
            run_id=self.run_id,
            suite=self.suite,
            suite_name=suite.name,
            about=suite.about.model_dump() | {"description": suite.description},
            base_url=self.base_url,
            models=[m.label for m in self.models],
            judge=self.judge,
            tags=self.tags,
            sample=self.sample,
            seed=self.seed,
            concurrency=self.concurrency,
            prices=prices,
            currency=suite.currency,
            started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            lockgate_version=__version__,
        )


def request_from_run_dir(run_dir: Path, api_key: str) -> RunRequest:
    """Rebuild the request recorded in ``run_dir/run.json`` (for ``--resume``)."""
    path = run_dir / "run.json"
    if not path.is_file():
        raise SuiteError(f"--resume {run_dir}: no run.json there; point it at a run directory")
    info = RunInfo.model_validate(read_json(path))
    return RunRequest(
        suite=info.suite,
        models=[ModelSpec.parse(m) for m in info.models],
        out=run_dir,
        base_url=info.base_url,
        api_key=api_key,
        concurrency=info.concurrency,
        tags=info.tags,
        sample=info.sample,
        seed=info.seed,
        judge=info.judge,
        prices=dict(info.prices),
        run_id=info.run_id,
    )


@dataclass
class RunOutcome:
    info: RunInfo
    runner: Runner
    files: list[Path]


def write_outputs(out: Path, info: RunInfo, suite: Suite, runner: Runner) -> list[Path]:
    order = {
        (m.label, item.id): n
        for n, (m, item) in enumerate((m, i) for m in runner.models for i in suite.items)
    }
    results: list[ItemResult] = sorted(runner.results, key=lambda r: order.get((r.model, r.item_id), 0))
    metrics = compute(results, info.models)
    payload: dict[str, Any] = {
        "run": info.model_dump(),
        "models": {k: v.model_dump() for k, v in runner.infos.items()},
        "metrics": metrics.model_dump(),
        "calls": {
            "upstream": runner.stats.upstream,
            "cached": runner.stats.cached,
            "failed": runner.stats.failed,
        },
        "items": [r.model_dump() for r in results],
    }
    files = [out / "results.json", out / "results.csv", out / "report.html"]
    write_json(files[0], payload)
    files[1].write_text(results_csv(results), encoding="utf-8")
    files[2].write_text(render_report(payload), encoding="utf-8")
    return files


async def execute(
    req: RunRequest,
    on_result: Callable[[ItemResult], None] | None = None,
    backend: ChatBackend | None = None,
) -> RunOutcome:
    """Run ``req``; if cancelled, partial outputs are written before the cancellation goes on."""
    suite = req.load()
    scorers = build_scorers(suite)
    info = req.info(suite)
    req.out.mkdir(parents=True, exist_ok=True)
    write_json(req.out / "run.json", info.model_dump())
    cache = CompletionCache(req.cache_path or req.out / "cache.sqlite")
    own: OpenAIBackend | None = None
    if backend is None:
        own = backend = OpenAIBackend(req.base_url, req.api_key, f"eval:{req.run_id}", req.retry)
    runner = Runner(
        suite,
        scorers,
        req.models,
        backend,
        cache=cache,
        judge_model=req.judge,
        concurrency=req.concurrency,
        prices=info.prices,
        on_result=on_result,
    )
    try:
        await runner.run()
        info.complete = True
    finally:
        info.finished_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json(req.out / "run.json", info.model_dump())
        files = write_outputs(req.out, info, suite, runner)
        cache.close()
        if own is not None:
            await own.close()
    return RunOutcome(info, runner, files)
