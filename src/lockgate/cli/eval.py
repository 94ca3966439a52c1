"""``lockgate eval``: run suites and audit packs through the gateway, list packs, compare runs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lockgate.eval.compare import CompareError, compare_runs, render_text
from lockgate.eval.metrics import compute
from lockgate.eval.results import ItemResult, ModelSpecError, parse_models
from lockgate.eval.runner import Runner
from lockgate.eval.scorers import ScorerConfigError, build_scorers
from lockgate.eval.session import (
    RunOutcome,
    RunRequest,
    execute,
    new_run_id,
    request_from_run_dir,
    shipped_packs,
)
from lockgate.eval.suite import SuiteError, load_suite

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"
USER_ERRORS = (SuiteError, ScorerConfigError, ModelSpecError, CompareError)


def parse_prices(values: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """``--price MODEL=IN,OUT`` (per 1M tokens), repeatable."""
    out: dict[str, tuple[float, float]] = {}
    for value in values:
        model, sep, pair = value.rpartition("=")
        parts = pair.split(",")
        try:
            if not sep or not model or len(parts) != 2:
                raise ValueError
            out[model] = (float(parts[0]), float(parts[1]))
        except ValueError:
            raise click.ClickException(
                f"--price {value!r}: write MODEL=INPUT,OUTPUT in currency per 1M tokens, e.g. smollm2=0.1,0.2"
            ) from None
    return out


def _request(
    suite: str | None, models: str | None, out: Path | None, resume: Path | None, **opts: object
) -> RunRequest:
    api_key = str(opts.pop("api_key"))
    if resume is not None:
        return request_from_run_dir(resume, api_key)
    if suite is None or models is None:
        raise click.ClickException(
            "eval run: give SUITE (a file or pack name) and --models a,b (or --resume RUN_DIR)"
        )
    run_id = new_run_id()
    tags = str(opts["tags"]).split(",") if opts["tags"] else None
    return RunRequest(
        suite=suite,
        models=parse_models(models),
        out=out or Path("eval-runs") / run_id,
        base_url=str(opts["base_url"]),
        api_key=api_key,
        concurrency=int(str(opts["concurrency"])),
        tags=[t.strip() for t in tags] if tags else None,
        sample=int(str(opts["sample"])) if opts["sample"] is not None else None,
        seed=int(str(opts["seed"])),
        judge=str(opts["judge"]) if opts["judge"] else None,
        prices=parse_prices(opts["price"]),  # type: ignore[arg-type]
        cache_path=opts["cache"],  # type: ignore[arg-type]
        run_id=run_id,
    )


def _run_with_progress(req: RunRequest, n_items: int, console: Console) -> RunOutcome:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks = {m.label: progress.add_task(m.label, total=n_items) for m in req.models}

        def advance(result: ItemResult) -> None:
            progress.advance(tasks[result.model])

        return asyncio.run(execute(req, on_result=advance))


@click.group("eval")
def eval_group() -> None:
    """Evaluate models side by side through the gateway; behaviour audit packs; reports."""


@eval_group.command("run")
@click.argument("suite", required=False)
@click.option(
    "--models", "-m", help="Comma-separated model specs: alias[@param=value...], e.g. smollm2@temperature=0."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (default eval-runs/<run-id>).",
)
@click.option(
    "--base-url",
    default=DEFAULT_BASE_URL,
    show_default=True,
    help="OpenAI-compatible base URL (the gateway).",
)
@click.option(
    "--api-key", default=lambda: os.environ.get("LOCKGATE_API_KEY", "none"), help="Default $LOCKGATE_API_KEY."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="In-flight requests per model.",
)
@click.option("--tags", help="Only items with any of these comma-separated tags.")
@click.option("--sample", type=click.IntRange(1), help="Run a seeded random sample of N items.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--judge",
    help="Model spec for judge scorers, e.g. smollm2 or smollm2@max_tokens=48 (through the same gateway; "
    "judge calls default to temperature 0 and max_tokens 256).",
)
@click.option(
    "--price", multiple=True, help="MODEL=IN,OUT price per 1M tokens (repeatable); overrides the suite's."
)
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cache file (default RUN_DIR/cache.sqlite).",
)
@click.option(
    "--resume", type=click.Path(file_okay=False, exists=True, path_type=Path), help="Continue RUN_DIR."
)
def run_cmd(
    suite: str | None, models: str | None, out: Path | None, resume: Path | None, **opts: object
) -> None:
    """Run SUITE (a .yaml/.jsonl file or a shipped pack name) against --models and write a report."""
    console = Console(stderr=True)
    try:
        req = _request(suite, models, out, resume, **opts)
        loaded = req.load()
        build_scorers(loaded)  # fail on a bad suite before any request or progress bar
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    try:
        outcome = _run_with_progress(req, len(loaded.items), console)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        raise click.ClickException(
            f"interrupted; finished items are saved. Resume with: lockgate eval run --resume {req.out}"
        ) from None
    stats = outcome.runner.stats
    Console().print(_summary_table(outcome.runner))
    click.echo(f"{stats.upstream} upstream calls, {stats.cached} from cache, {stats.failed} failed")
    click.echo(f"report: {req.out / 'report.html'}")


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _summary_table(runner: Runner) -> Table:
    """Per model: score with its 95% CI, refusals, failures, time to first token, throughput, cost."""
    labels = [m.label for m in runner.models]
    metrics = compute(runner.results, labels)
    table = Table(
        "model", "score [95% CI]", "graded", "refusals", "failures", "TTFT p50 s", "tok/s", "cost/1k"
    )
    for label in labels:
        g = metrics.by_model[label]
        score = "–" if g.mean is None else f"{g.mean:.2f} [{_fmt(g.ci_low, '.2f')}, {_fmt(g.ci_high, '.2f')}]"
        table.add_row(
            label, score, f"{g.graded}/{g.n}", str(g.refusals), str(g.failures),
            _fmt(g.ttft_p50, ".2f"), _fmt(g.tokens_per_s, ".1f"), _fmt(g.cost_per_1k, ".4f"),
        )  # fmt: skip
    return table


@eval_group.command("packs")
def packs_cmd() -> None:
    """List the behaviour audit packs shipped with lockgate."""
    table = Table("pack", "items", "measures")
    for name, path in shipped_packs().items():
        suite = load_suite(path)
        table.add_row(name, str(len(suite.items)), suite.about.measures.strip().split("\n")[0])
    Console().print(table)


@eval_group.command("compare")
@click.argument("run_a", type=click.Path(exists=True, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, path_type=Path))
def compare_cmd(run_a: Path, run_b: Path) -> None:
    """Show per-model/tag score and refusal deltas and flipped items from RUN_A to RUN_B."""
    try:
        click.echo(render_text(compare_runs(run_a, run_b)))
    except CompareError as exc:
        raise click.ClickException(str(exc)) from None
