"""Runs the whole benchmark once in smoke mode: it must finish and every measured line must be clean.

No timing is asserted: only that the run completes, the JSON has its shape, and every line served
requests without errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run.py"
TOP_KEYS = {
    "date",
    "mode",
    "machine",
    "versions",
    "settings",
    "lines",
    "engine",
    "ratios",
    "paired",
    "targets",
}
EXPECTED_LABELS = {
    "direct",
    "aiohttp",
    "lockgate[auth]",
    "lockgate[auth+policy]",
    "lockgate[auth+pii]",
    "lockgate[auth+audit]",
    "lockgate[auth+policy+audit]",
    "lockgate[all]",
    "lockgate[all, 2 workers]",
}


PROTOCOL_LABELS = {"lockgate[auth] /v1/messages", "lockgate[auth] /v1/responses"}


def _smoke(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "latest.json"
    argv = [sys.executable, str(RUN), "--smoke", "--no-litellm", "--no-engine"]
    argv += ["--out", str(out), "--work", str(tmp_path / "work")]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, f"bench failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "targets (issue 7)" in done.stdout
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_smoke_run_measures_every_line_cleanly(tmp_path: Path) -> None:
    data = _smoke(tmp_path)
    assert set(data) >= TOP_KEYS
    assert data["mode"] == "smoke"
    assert data["engine"] is None
    assert {"cpu_model", "cores", "memory_gib"} <= set(data["machine"])
    assert {"lockgate", "nginx", "wrk", "python"} <= set(data["versions"])
    assert {line["label"] for line in data["lines"]} == EXPECTED_LABELS | PROTOCOL_LABELS
    for line in data["lines"]:
        for level in ("c1", "c32"):
            assert line[level]["requests"] > 0, (line["label"], level)
            assert line[level]["errors"] == 0, (line["label"], level)
        if line["sse"] is not None:
            assert line["sse"]["streams"] > 0 and line["sse"]["chunks"] > 0, line["label"]
            assert line["sse"]["errors"] == 0, line["label"]
        if line["memory"] is not None:
            assert line["memory"]["after_kb"] > 0 and line["memory"]["requests"] > 0, line["label"]
            assert line["memory"]["soak_errors"] == 0, line["label"]
    measured_processes = {line["label"] for line in data["lines"] if line["memory"] is not None}
    assert measured_processes == EXPECTED_LABELS - {
        "lockgate[all, 2 workers]"
    }  # its supervisor is not the server
    assert all(
        line["sse"] is not None
        for line in data["lines"]
        if line["prompt"] == "short" and line["label"] not in PROTOCOL_LABELS
    )
    # the agent protocols' adapters, against chat completions on the same process
    assert [a["protocol"] for a in data["adapters"]] == ["messages", "responses"]
    assert all(a["c32_rps"] > 0 and a["c32_rps_vs_chat"] > 0 for a in data["adapters"])
    assert "lockgate[auth] short" in data["ratios"]
    # issue 17's ratios, from alternating rounds (one in a smoke run)
    paired = data["paired"]
    assert (paired["peer"], paired["subject"], paired["prompt"]) == ("aiohttp", "lockgate[all]", "2kb")
    assert len(paired["rounds"]) == 1 and paired["median_rps_ratio"] > 0
    assert all(
        r[side]["requests"] > 0 and r[side]["errors"] == 0
        for r in paired["rounds"]
        for side in ("peer", "subject")
    )
    names = [t["name"] for t in data["targets"]]
    assert any(n.endswith("median of 1 alternating rounds") for n in names)
    assert any("added p50" in n for n in names) and any("resident memory" in n for n in names)
