"""``lockgate eval compare RUN_A RUN_B``: what changed between two runs.

Models are matched by their spec label (``smollm2@temperature=0``).  For each model in both
runs: the change in mean score and refusal rate, overall and per tag, and the items that
*flipped* — passed (score >= 0.5) in one run and not in the other, or were refused in one run
and not in the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockgate.eval.results import read_json

PASS_MARK = 0.5


class CompareError(ValueError):
    pass


@dataclass(slots=True)
class Delta:
    scope: str  # "all" or a tag
    score_a: float | None
    score_b: float | None
    refusal_a: float | None
    refusal_b: float | None

    @property
    def score_delta(self) -> float | None:
        return None if self.score_a is None or self.score_b is None else self.score_b - self.score_a

    @property
    def refusal_delta(self) -> float | None:
        return None if self.refusal_a is None or self.refusal_b is None else self.refusal_b - self.refusal_a


@dataclass(slots=True)
class Flip:
    item_id: str
    before: str
    after: str


@dataclass(slots=True)
class ModelChange:
    model: str
    deltas: list[Delta] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)


@dataclass(slots=True)
class Comparison:
    run_a: str
    run_b: str
    changes: list[ModelChange]
    only_a: list[str]
    only_b: list[str]


def load_run(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "results.json" if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise CompareError(f"{run_dir}: no results.json; give a run directory written by 'lockgate eval run'")
    data: dict[str, Any] = read_json(path)
    return data


def _state(r: dict[str, Any]) -> str:
    if r["error"] is not None or r["score"] is None:
        return "failed"
    verdict = "pass" if r["score"] >= PASS_MARK else "fail"
    return verdict + (" (refused)" if r["refused"] else "")


def _delta(scope: str, a: dict[str, Any] | None, b: dict[str, Any] | None) -> Delta:
    return Delta(
        scope,
        a["mean"] if a else None,
        b["mean"] if b else None,
        a["refusal_rate"] if a else None,
        b["refusal_rate"] if b else None,
    )


def _model_change(model: str, a: dict[str, Any], b: dict[str, Any]) -> ModelChange:
    change = ModelChange(model)
    change.deltas.append(_delta("all", a["metrics"]["by_model"][model], b["metrics"]["by_model"][model]))
    tags_a, tags_b = a["metrics"]["by_tag"].get(model, {}), b["metrics"]["by_tag"].get(model, {})
    for tag in sorted(set(tags_a) | set(tags_b)):
        change.deltas.append(_delta(tag, tags_a.get(tag), tags_b.get(tag)))
    items_a = {r["item_id"]: r for r in a["items"] if r["model"] == model}
    items_b = {r["item_id"]: r for r in b["items"] if r["model"] == model}
    for item_id in sorted(set(items_a) & set(items_b)):
        before, after = _state(items_a[item_id]), _state(items_b[item_id])
        if before != after:
            change.flips.append(Flip(item_id, before, after))
    return change


def compare_runs(run_a: Path, run_b: Path) -> Comparison:
    a, b = load_run(run_a), load_run(run_b)
    models_a, models_b = a["run"]["models"], b["run"]["models"]
    shared = [m for m in models_a if m in models_b]
    return Comparison(
        run_a=a["run"]["run_id"],
        run_b=b["run"]["run_id"],
        changes=[_model_change(m, a, b) for m in shared],
        only_a=[m for m in models_a if m not in models_b],
        only_b=[m for m in models_b if m not in models_a],
    )


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def render_text(c: Comparison) -> str:
    lines = [f"compare {c.run_a} -> {c.run_b}"]
    for ch in c.changes:
        lines.append(f"\nmodel {ch.model}")
        lines.append(f"  {'scope':<20} {'score A':>8} {'score B':>8} {'Δscore':>8} {'Δrefusal':>9}")
        for d in ch.deltas:
            lines.append(
                f"  {d.scope:<20} {_fmt(d.score_a):>8} {_fmt(d.score_b):>8} "
                f"{_fmt(d.score_delta, True):>8} {_fmt(d.refusal_delta, True):>9}"
            )
        lines.append(f"  flipped items: {len(ch.flips)}")
        lines.extend(f"    {f.item_id}: {f.before} -> {f.after}" for f in ch.flips)
    if c.only_a:
        lines.append(f"\nonly in A: {', '.join(c.only_a)}")
    if c.only_b:
        lines.append(f"only in B: {', '.join(c.only_b)}")
    return "\n".join(lines)
