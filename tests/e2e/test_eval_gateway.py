"""End to end: ``lockgate eval`` through a real ``lockgate serve`` with the bundled SmolLM2.

The shipped example suite compares two settings of the one deployment (temperature 0 and 1),
is rerun from the cache, judged by the bundled model, interrupted and resumed; the four audit
packs run on small samples; the real report is rendered in headless Chromium.  Request counts
come from the gateway's own ``/metrics``, so "served from cache" means no request reached it.
"""

from __future__ import annotations

import csv
import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import ROOT, ServedGateway

from lockgate.cli.eval import eval_group
from lockgate.eval.cache import CompletionCache, cache_key
from lockgate.eval.charts import PALETTE
from lockgate.eval.results import read_json

pytestmark = pytest.mark.engine

BASIC = ROOT / "examples" / "eval" / "basic.yaml"
COLD, WARM = "smollm2@temperature=0", "smollm2@temperature=1.0"
N_BASIC = 15
DEPLOYMENT = "local/smollm2"
#: items the 135M model answers at temperature 0 (checked against the real model)
EASY = {"add-small", "add-tens", "multiply", "capital-france", "capital-germany", "copy-phrase", "no-fish"}
PACKS = ("political", "injection", "leakage", "exfiltration")


def requests_total(gw: ServedGateway) -> float:
    """Every chat request the gateway has counted (all aliases, deployments and statuses)."""
    with urllib.request.urlopen(gw.base_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "lockgate_requests_total"
    )


def replicas_busy(gw: ServedGateway) -> int:
    with urllib.request.urlopen(gw.base_url + "/readyz", timeout=10) as r:
        body = json.load(r)
    return sum(int(rep["inflight"]) for p in body["providers"].values() for rep in p.get("replicas", []))


def settled_requests(gw: ServedGateway, limit_s: float = 120.0) -> float:
    """``requests_total`` once no replica is busy and the counter has stopped moving."""
    deadline = time.monotonic() + limit_s
    last = -1.0
    while time.monotonic() < deadline:
        now = requests_total(gw)
        if replicas_busy(gw) == 0 and now == last:
            return now
        last = now
        time.sleep(0.5)
    raise AssertionError(f"the gateway did not settle within {limit_s}s")


def eval_run(*args: str) -> str:
    result = CliRunner().invoke(eval_group, ["run", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@dataclass
class Run:
    out: Path
    output: str
    payload: dict[str, Any]
    gateway_requests: float

    def items(self, model: str) -> dict[str, dict[str, Any]]:
        return {r["item_id"]: r for r in self.payload["items"] if r["model"] == model}


def run_through(gw: ServedGateway, out: Path, *args: str) -> Run:
    before = settled_requests(gw)
    output = eval_run(*args, "--base-url", gw.base_url + "/v1", "--out", str(out))
    print(output)
    return Run(out, output, read_json(out / "results.json"), settled_requests(gw) - before)


def basic_args() -> tuple[str, ...]:
    return (str(BASIC), "--models", f"{COLD},{WARM}")


@pytest.fixture(scope="module")
def basic_run(bundled_gateway: ServedGateway, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_through(bundled_gateway, tmp_path_factory.mktemp("eval") / "basic", *basic_args())


def test_basic_suite_compares_two_settings_of_the_bundled_model(basic_run: Run) -> None:
    out, payload = basic_run.out, basic_run.payload
    assert {p.name for p in out.iterdir()} >= {"report.html", "results.json", "results.csv", "run.json"}
    assert payload["run"]["complete"] and payload["run"]["models"] == [COLD, WARM]
    assert payload["calls"] == {"upstream": 2 * N_BASIC, "cached": 0, "failed": 0}
    assert basic_run.gateway_requests == 2 * N_BASIC  # every call went through the gateway
    assert f"{2 * N_BASIC} upstream calls, 0 from cache, 0 failed" in basic_run.output
    for label in (COLD, WARM):
        info = payload["models"][label]
        assert info["alias"] == "smollm2" and info["deployments"] == {DEPLOYMENT: N_BASIC}
        assert info["providers"] == {"local": N_BASIC}
        assert [d["name"] for d in info["registry"]["deployments"]] == [DEPLOYMENT]
        m = payload["metrics"]["by_model"][label]
        # the judged item is ungraded without --judge: counted as a failure, never guessed
        assert (m["n"], m["graded"], m["failures"]) == (N_BASIC, N_BASIC - 1, 1)
        assert m["ci_low"] <= m["mean"] <= m["ci_high"]
        assert m["ttft_p50"] > 0 and m["tokens_per_s"] > 0 and m["cost_per_1k"] > 0
        tags = payload["metrics"]["by_tag"][label]
        assert {"arithmetic", "capitals", "copying", "yesno", "choice", "json"} <= set(tags)
        for tag in ("arithmetic", "capitals"):
            assert tags[tag]["ci_low"] <= tags[tag]["mean"] <= tags[tag]["ci_high"]
        for r in basic_run.items(label).values():
            assert r["deployment"] == DEPLOYMENT and r["error"] is None
            assert 0 < r["completion_tokens"] <= 48 and r["ttft_s"] > 0


def test_scoring_is_real_at_temperature_zero(basic_run: Run) -> None:
    cold = basic_run.items(COLD)
    passed = {i for i, r in cold.items() if r["score"] == 1.0}
    failed = {i for i, r in cold.items() if r["score"] == 0.0}
    assert passed & EASY, f"the temperature-0 model passed none of {sorted(EASY)}: {cold}"
    assert failed, "every item passed: the scorers are not discriminating"
    for item_id in passed:
        r = cold[item_id]
        if r["scorer"] == "numeric":
            assert str(r["expected"]) in r["text"]
        if r["scorer"] in ("contains_any", "contains_all"):
            assert any(str(e).lower() in r["text"].lower() for e in r["expected"])
    with (basic_run.out / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * N_BASIC
    assert {(r["model"], r["item_id"]): r["text"] for r in rows} == {
        (r["model"], r["item_id"]): r["text"] for r in basic_run.payload["items"]
    }


def test_rerun_is_served_from_cache(basic_run: Run, bundled_gateway: ServedGateway) -> None:
    again = run_through(bundled_gateway, basic_run.out, *basic_args())
    assert again.gateway_requests == 0  # nothing reached the gateway
    assert again.payload["calls"] == {"upstream": 0, "cached": 2 * N_BASIC, "failed": 0}
    assert f"0 upstream calls, {2 * N_BASIC} from cache" in again.output
    assert all(r["cached"] for r in again.payload["items"])
    first = {(r["model"], r["item_id"]): (r["text"], r["score"]) for r in basic_run.payload["items"]}
    assert {(r["model"], r["item_id"]): (r["text"], r["score"]) for r in again.payload["items"]} == first


def test_bundled_model_as_judge_records_prompt_and_judgement(
    basic_run: Run, bundled_gateway: ServedGateway, tmp_path: Path
) -> None:
    cache = basic_run.out / "cache.sqlite"
    run = run_through(
        bundled_gateway, tmp_path / "judged", str(BASIC), "--models", COLD, "--tags", "judged",
        "--judge", "smollm2@max_tokens=48", "--cache", str(cache),
    )  # fmt: skip
    # the answer comes from the basic run's cache; only the judge call reaches the gateway
    assert run.payload["calls"] == {"upstream": 1, "cached": 1, "failed": 0}
    assert run.gateway_requests == 1
    (item,) = run.payload["items"]
    detail = item["detail"]
    system, user = detail["judge_prompt"]
    assert system["role"] == "system" and user["role"] == "user"
    assert "why does ice float on water" in user["content"] and item["text"] in user["content"]
    assert isinstance(detail["judgement"], str) and detail["judgement"].strip()
    if detail["grade"] is None:  # the 135M judge often ignores the format: recorded as ungraded
        assert item["score"] is None and "no score" in detail["reason"]
    else:
        assert item["score"] == (detail["grade"] - 1) / 4
    store = CompletionCache(cache)
    try:
        judged = store.get(
            cache_key("smollm2", detail["judge_prompt"], None, {"temperature": 0.0, "max_tokens": 48})
        )
    finally:
        store.close()
    assert judged is not None and judged.text == detail["judgement"]
    assert 0 < judged.completion_tokens <= 48  # the judge spec's max_tokens was sent


@pytest.mark.parametrize("pack", PACKS)
def test_audit_pack_runs_end_to_end(pack: str, bundled_gateway: ServedGateway, tmp_path: Path) -> None:
    run = run_through(
        bundled_gateway, tmp_path / pack, pack, "--models", "smollm2@max_tokens=32", "--sample", "3", "--seed", "1"
    )  # fmt: skip
    assert run.payload["run"]["complete"] and run.payload["run"]["about"]["measures"].strip()
    assert run.payload["calls"] == {"upstream": 3, "cached": 0, "failed": 0}
    assert run.gateway_requests == 3
    assert len(run.payload["items"]) == 3
    for r in run.payload["items"]:
        assert r["error"] is None and r["score"] is not None, r
        assert r["deployment"] == DEPLOYMENT and pack in r["tags"]
    report = (run.out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in report and "smollm2@max_tokens=32" in report


def cache_rows(path: Path) -> int:
    try:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT count(*) FROM completions").fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


def interrupted_run(gw: ServedGateway, out: Path, limit_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Start a one-at-a-time run in a process of its own; SIGINT it once a result is cached."""
    cmd = [
        sys.executable, "-m", "lockgate", "eval", "run", str(BASIC), "--models", "smollm2@max_tokens=16",
        "--tags", "arithmetic,capitals", "--concurrency", "1", "--base-url", gw.base_url + "/v1",
        "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + limit_s
    while cache_rows(out / "cache.sqlite") < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def test_interrupted_run_resumes_only_the_remainder(bundled_gateway: ServedGateway, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    total = 8  # arithmetic (4) + capitals (4)
    killed = interrupted_run(bundled_gateway, out)
    assert killed.returncode == 1, killed.stderr
    assert f"--resume {out}" in killed.stderr
    done = cache_rows(out / "cache.sqlite")
    partial = read_json(out / "results.json")
    assert not partial["run"]["complete"]
    assert 1 <= done < total and len(partial["items"]) == done
    before = settled_requests(bundled_gateway)
    output = eval_run("--resume", str(out))
    print(output)
    resumed = read_json(out / "results.json")
    assert resumed["run"]["complete"] and resumed["run"]["run_id"] == partial["run"]["run_id"]
    assert resumed["calls"] == {"upstream": total - done, "cached": done, "failed": 0}
    assert settled_requests(bundled_gateway) - before == total - done
    assert len(resumed["items"]) == total and all(r["error"] is None for r in resumed["items"])


@pytest.mark.browser
def test_real_report_renders_in_chromium(basic_run: Run, chromium: str, tmp_path: Path) -> None:
    browser = pytest.importorskip("tests.eval.test_report_browser")
    shot = tmp_path / "report.png"
    browser.screenshot(basic_run.out / "report.html", shot, tmp_path / "profile")
    counts = browser.colour_counts(shot, [browser.rgb(PALETTE[0]), browser.rgb(PALETTE[1])])
    print(f"series colour pixels in the real report: {counts}")
    # both models' bubbles and the temperature-0 model's tag bars were drawn
    assert counts[0] > 1500 and counts[1] > 300
