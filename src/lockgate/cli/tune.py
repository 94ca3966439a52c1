"""``lockgate tune``: LoRA fine-tuning on your own data, registered, evaluated and on the record."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from lockgate.cli.common import config_option, load, store


class _Reporter:
    """Progress bars for training (loss, ETA) and evaluation, on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self.train_task: TaskID | None = None
        self.eval_task: TaskID | None = None

    def stage(self, text: str) -> None:
        self.console.print(text)

    def step(self, info: Any) -> None:
        if self.train_task is None:
            self.progress.start()
            self.train_task = self.progress.add_task(
                "train", total=info.total, completed=info.resumed_from, note=""
            )
        self.progress.update(self.train_task, completed=info.step, note=f"loss {info.loss:.3f}")

    def eval_total(self, n: int) -> None:
        self.progress.start()
        self.eval_task = self.progress.add_task("eval (base + tuned)", total=2 * n, note="")

    def eval_result(self, result: Any) -> None:
        if self.eval_task is not None:
            self.progress.advance(self.eval_task)

    def close(self) -> None:
        self.progress.stop()


def _fmt_score(s: dict[str, Any] | None) -> str:
    if not s or s.get("mean") is None:
        return "–"
    return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"


def _print_outcome(rec: Any, run_dir: Path) -> None:
    click.echo(f"run {rec.run_id}: {run_dir}")
    click.echo(
        f"adapter {rec.adapter.get('name')} ({rec.adapter.get('artifact_id')}): {rec.adapter.get('path')}"
    )
    click.echo(
        f"  sha256 {rec.adapter.get('sha256')}, base {rec.base.get('name')} sha256 {rec.base.get('sha256')}"
    )
    if rec.eval is not None:
        scores = rec.eval.scores
        click.echo(f"held-out score, 95% CI (n={scores.get('base', {}).get('graded')}):")
        click.echo(f"  base   {_fmt_score(scores.get('base'))}")
        click.echo(f"  tuned  {_fmt_score(scores.get('tuned'))}")
        diff = scores.get("difference")
        if diff:
            click.echo(
                f"  tuned - base  {diff['mean']:+.3f} [{diff['ci_low']:+.3f}, {diff['ci_high']:+.3f}] (paired)"
            )
        click.echo(f"report: {rec.eval.report}")
    t = rec.timings
    click.echo(
        f"time: train {t.get('train_s', 0):.0f} s, export {t.get('export_s', 0):.1f} s, "
        f"eval {t.get('eval_s', 0):.0f} s, total {t.get('total_s', 0):.0f} s"
    )


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.group()
def tune() -> None:
    """Fine-tune a served model on your data (LoRA), with provenance and a measured gain."""


@tune.command("run")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--ack", default=None, help="Why personal data in the dataset may be used (kept in the record)."
)
@click.option("--resume", is_flag=True, help="Continue the newest unfinished run of this spec.")
@click.option("--no-eval", is_flag=True, help="Skip the held-out evaluation through a gateway.")
@config_option
def run_cmd(spec_file: Path, ack: str | None, resume: bool, no_eval: bool, config_path: Path | None) -> None:
    """Train a LoRA adapter as SPEC_FILE says, register it, and evaluate base vs tuned."""
    from lockgate.registry.errors import RegistryError
    from lockgate.tune.errors import TuneError
    from lockgate.tune.spec import load_spec

    cfg = load(config_path)
    console = Console(stderr=True)
    reporter = _Reporter(console)
    signal.signal(signal.SIGTERM, _interrupted)  # so the evaluation gateway is stopped on `kill` too
    try:
        spec = load_spec(spec_file)
        from lockgate.tune import pipeline

        outcome = pipeline.run(
            spec, spec_file, cfg, store(cfg), reporter, ack=ack, resume=resume, evaluate=not no_eval
        )
    except (TuneError, RegistryError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        raise click.ClickException(
            f"interrupted; checkpoints are kept. Resume with: lockgate tune run {spec_file} --resume"
            + (f" -c {config_path}" if config_path else "")
        ) from None
    finally:
        reporter.close()
    _print_outcome(outcome.record, outcome.run_dir)


@tune.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def list_cmd(as_json: bool, config_path: Path | None) -> None:
    """Tune runs under DATA_DIR/tune, oldest first."""
    from lockgate.tune.pipeline import tune_root
    from lockgate.tune.record import list_runs

    runs = list_runs(tune_root(load(config_path)))
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json", exclude={"split"}) for r in runs], indent=2))
        return
    table = Table(
        "run", "status", "started", "base", "dataset sha256", "base score", "tuned score", "adapter"
    )
    for r in runs:
        scores = r.eval.scores if r.eval else {}
        table.add_row(
            *(
                Text(str(v))
                for v in (
                    r.run_id,
                    r.status,
                    time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
                    r.base.get("name", "-"),
                    str(r.dataset.get("sha256", "-"))[:12],
                    _fmt_score(scores.get("base")),
                    _fmt_score(scores.get("tuned")),
                    r.adapter.get("artifact_id", "-"),
                )
            )
        )
    Console().print(table)


@tune.command("show")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
@config_option
def show_cmd(run: str, as_json: bool, config_path: Path | None) -> None:
    """Everything recorded about RUN (an id, a unique prefix of one, or its directory)."""
    from lockgate.tune.errors import TuneError
    from lockgate.tune.pipeline import tune_root
    from lockgate.tune.record import find_run

    try:
        run_dir, rec = find_run(tune_root(load(config_path)), run)
    except TuneError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(rec.model_dump(mode="json"), indent=2))
        return
    table = Table("field", "value", show_header=False)
    losses = rec.training.get("losses", [])
    rows = {
        "status": rec.status,
        "spec": rec.spec_path,
        "base": json.dumps(rec.base),
        "dataset": json.dumps(rec.dataset),
        "split": f"{rec.split.get('train')} train / {rec.split.get('heldout')} held out (seed {rec.seed})",
        "hyper-parameters": json.dumps(rec.hyper_parameters),
        "libraries": json.dumps(rec.libraries),
        "personal data": json.dumps(rec.pii),
        "device": rec.training.get("device", "-"),
        "loss": f"{losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps" if losses else "-",
        "adapter": json.dumps(rec.adapter),
        "eval run": rec.eval.run_id if rec.eval else "-",
        "timings": json.dumps(rec.timings),
    }
    for key, value in rows.items():
        table.add_row(key, Text(str(value)))
    Console().print(table)
    if rec.eval is not None:
        _print_outcome(rec, run_dir)
