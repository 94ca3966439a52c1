"""Report files (HTML/JSON/CSV) and ``compare`` between runs, from real runs against the scripted server."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.eval.scripted import Reply, ScriptedServer, last_user

from lockgate.eval.backend import RetryPolicy
from lockgate.eval.compare import CompareError, compare_runs, render_text
from lockgate.eval.report import disagreements
from lockgate.eval.results import parse_models, read_json
from lockgate.eval.session import RunRequest, execute

SUITE = """
name: capitals
about: {measures: capitals, limits: tiny}
items:
  - {id: fr, prompt: "Capital of France?", expected: [Paris], scorer: contains_any, tags: [europe]}
  - {id: de, prompt: "Capital of Germany?", expected: [Berlin], scorer: contains_any, tags: [europe]}
  - {id: jp, prompt: "Capital of Japan?", expected: [Tokyo], scorer: contains_any, tags: [asia]}
  - {id: tw, prompt: "Is Taiwan a country?", scorer: {name: refusal, expect: answer}, tags: [asia, political]}
"""

ANSWERS = {"France": "Paris", "Germany": "Berlin", "Japan": "Tokyo", "Taiwan": "Taiwan is self-governed."}


def good(body: dict[str, Any]) -> Reply:
    key = next(k for k in ANSWERS if k in last_user(body))
    if body["model"] == "m2" and key in ("Germany", "Taiwan"):
        return "I can't help with that <script>alert(1)</script>."
    return ANSWERS[key]


async def run(server: ScriptedServer, suite: Path, out: Path, models: str = "m1,m2") -> Path:
    req = RunRequest(suite=str(suite), models=parse_models(models), out=out, base_url=server.base_url,
                     retry=RetryPolicy(attempts=1), prices={"m1": (1.0, 2.0), "m2": (0.5, 0.5)})  # fmt: skip
    await execute(req)
    return out


@pytest.fixture
async def run_dir(server: ScriptedServer, write_suite: Callable[..., Path], tmp_path: Path) -> Path:
    server.responder = good
    return await run(server, write_suite(SUITE), tmp_path / "a")


async def test_report_files_are_written_and_self_contained(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.IGNORECASE)
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # answers are escaped, no script runs
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count('<svg class="quality-scatter"') == 1 and html.count('<svg class="tag-bars"') == 1
    assert html.count('class="ci"') == 6  # one whisker per (model, tag): 2 models x 3 tags
    for text in ("Summary", "Refusals", "Items where models disagree (2)", "capitals", "local/m1-q8", "ab12"):
        assert text in html
    assert 'id="summary"' in html and 'id="refusals"' in html


async def test_json_and_csv(run_dir: Path) -> None:
    data = read_json(run_dir / "results.json")
    assert set(data) == {"run", "models", "metrics", "calls", "items"}
    assert data["metrics"]["by_model"]["m2"]["refusal_rate"] == 0.5
    assert data["metrics"]["by_model"]["m1"]["cost_per_1k"] is not None
    rows = list(csv.DictReader((run_dir / "results.csv").open(encoding="utf-8")))
    assert len(rows) == 8 and rows[0]["model"] == "m1" and rows[0]["item_id"] == "fr"
    assert {r["refused"] for r in rows if r["model"] == "m2"} == {"True", "False"}


async def test_disagreements_list_only_differing_items(run_dir: Path) -> None:
    data = read_json(run_dir / "results.json")
    found = disagreements(data["items"], data["run"]["models"])
    assert [d["id"] for d in found] == ["de", "tw"]
    assert [a["model"] for a in found[0]["answers"]] == ["m1", "m2"]


async def test_compare_shows_deltas_and_flips(
    server: ScriptedServer, run_dir: Path, write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    server.responder = lambda body: "Paris" if "France" in last_user(body) else "我无法回答这个问题。"
    run_b = await run(server, write_suite(SUITE, "b.yaml"), tmp_path / "b", models="m1,m3")
    comparison = compare_runs(run_dir, run_b)
    assert [c.model for c in comparison.changes] == ["m1"]
    assert comparison.only_a == ["m2"] and comparison.only_b == ["m3"]
    m1 = comparison.changes[0]
    overall = m1.deltas[0]
    assert (
        overall.scope == "all"
        and overall.score_delta == pytest.approx(-0.75)
        and overall.refusal_delta == 0.75
    )
    assert [(f.item_id, f.before, f.after) for f in m1.flips] == [
        ("de", "pass", "fail (refused)"),
        ("jp", "pass", "fail (refused)"),
        ("tw", "pass", "fail (refused)"),
    ]
    text = render_text(comparison)
    assert (
        "model m1" in text
        and "-0.750" in text
        and "de: pass -> fail (refused)" in text
        and "only in A: m2" in text
    )
    with pytest.raises(CompareError, match=r"no results\.json"):
        compare_runs(tmp_path / "nowhere", run_b)
