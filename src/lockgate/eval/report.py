"""The self-contained HTML report, rendered from the ``results.json`` payload.

Everything is inline: CSS in a ``<style>`` block, charts as SVG drawn by ``charts.py``,
answers in ``<details>`` elements (no JavaScript).  Opening the file needs no network.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from lockgate.eval import charts


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("lockgate.eval", "templates"), autoescape=select_autoescape(["html"])
    )
    env.filters["num"] = lambda v, fmt="{:.2f}": "–" if v is None else fmt.format(v)
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    return env


def _scatter(models: list[str], by_model: dict[str, Any]) -> Markup:
    have_cost = any(by_model[m]["cost_per_1k"] is not None for m in models)
    lat = {m: by_model[m]["latency_p50"] or 0.0 for m in models}
    max_lat = max(lat.values(), default=0.0) or 1.0
    points = []
    for m in models:
        g = by_model[m]
        x = (g["cost_per_1k"] or 0.0) if have_cost else lat[m]
        note = f"score {g['mean'] or 0:.2f}, p50 latency {lat[m]:.2f}s, cost/1k {g['cost_per_1k']}"
        points.append(charts.Point(m, x, g["mean"] or 0.0, lat[m] / max_lat if have_cost else 0.3, note))
    x_label = (
        "cost per 1,000 items (bubble size = p50 latency)"
        if have_cost
        else "p50 latency, s (no price table given)"
    )
    return Markup(charts.scatter(points, x_label, "mean score"))


def _tag_bars(models: list[str], by_tag: dict[str, dict[str, Any]]) -> Markup:
    tags = sorted({t for m in models for t in by_tag.get(m, {})})
    bars = [
        charts.Bar(
            t,
            n,
            g["mean"],
            g["ci_low"],
            g["ci_high"],
            f"{g['mean']:.2f} [{g['ci_low']:.2f}, {g['ci_high']:.2f}] n={g['graded']}",
        )
        for n, m in enumerate(models)
        for t, g in by_tag.get(m, {}).items()
        if g["mean"] is not None
    ]
    return Markup(charts.bars(bars, tags, models, "mean score (95% CI)")) if tags else Markup("")


def disagreements(items: list[dict[str, Any]], models: list[str]) -> list[dict[str, Any]]:
    """Items whose score or refusal verdict differs between models, with every model's answer."""
    by_item: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in items:
        by_item[r["item_id"]][r["model"]] = r
    out = []
    for item_id, answers in by_item.items():
        verdicts = {(a["score"], a["refused"], a["error"] is None) for a in answers.values()}
        if len(verdicts) > 1 or len(answers) < len(models):
            rows = [answers[m] for m in models if m in answers]
            out.append(
                {"id": item_id, "tags": rows[0]["tags"], "expected": rows[0]["expected"], "answers": rows}
            )
    return out


def render_report(payload: dict[str, Any]) -> str:
    run = payload["run"]
    models: list[str] = run["models"]
    metrics = payload["metrics"]
    tags = sorted({t for m in models for t in metrics["by_tag"].get(m, {})})
    template = _env().get_template("report.html")
    return template.render(
        run=run,
        models=models,
        infos=payload["models"],
        metrics=metrics,
        tags=tags,
        calls=payload["calls"],
        colours={m: charts.colour(n) for n, m in enumerate(models)},
        scatter=_scatter(models, metrics["by_model"]),
        tag_bars=_tag_bars(models, metrics["by_tag"]),
        legend=Markup(charts.legend(models)),
        disagreements=disagreements(payload["items"], models),
        n_items=len({r["item_id"] for r in payload["items"]}),
    )
