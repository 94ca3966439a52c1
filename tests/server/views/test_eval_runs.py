"""Finding evaluation runs on disk: which directories count, what a row says, the summary cache,
and refusals for names that are not a run inside the runs directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from lockgate.errors import InvalidRequest
from lockgate.server.views.evals import RunsDir


def payload(run_id: str, started: str, means: dict[str, float | None]) -> dict[str, Any]:
    group = {"n": 2, "graded": 2, "ci_low": 0.1, "ci_high": 0.9, "refusal_rate": 0.0, "failures": 0}
    return {
        "run": {"run_id": run_id, "suite": "s.yaml", "suite_name": "s", "models": list(means),
                "started_at": started, "finished_at": started, "complete": True},
        "metrics": {"by_model": {m: {**group, "mean": v} for m, v in means.items()}, "by_tag": {}},
        "items": [{"item_id": "a"}, {"item_id": "b"}, {"item_id": "a"}],
    }  # fmt: skip


def write_run(root: Path, name: str, data: dict[str, Any] | bytes, report: bool = True) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "results.json").write_bytes(data if isinstance(data, bytes) else orjson.dumps(data))
    if report:
        (path / "report.html").write_text("<html>report</html>")
    return path


def test_missing_root_lists_nothing(tmp_path: Path) -> None:
    out = RunsDir(tmp_path / "nope").runs()
    assert out["exists"] is False and out["data"] == []


def test_rows_newest_first_with_scores_and_problems(tmp_path: Path) -> None:
    write_run(tmp_path, "old", payload("old", "2026-01-01T10:00:00+0000", {"m1": 0.5}))
    write_run(
        tmp_path, "new", payload("new", "2026-02-01T10:00:00+0000", {"m1": 1.0, "m2": None}), report=False
    )
    write_run(tmp_path, "broken", b"{not json")
    (tmp_path / "started").mkdir()
    (tmp_path / "started" / "run.json").write_bytes(
        orjson.dumps({"run_id": "started", "suite": "x", "models": ["m"]})
    )
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "file.txt").write_text("x")
    rows = RunsDir(tmp_path).runs()["data"]
    assert [r["id"] for r in rows] == ["new", "old", "started", "broken"]
    new = rows[0]
    assert [(s["model"], s["mean"]) for s in new["scores"]] == [("m1", 1.0), ("m2", None)]
    assert new["items"] == 2 and new["report"] is False and new["complete"] is True
    assert rows[2]["complete"] is False and rows[2]["scores"] == [] and rows[2]["error"] is None
    assert "unreadable" in rows[3]["error"]


def test_summaries_are_cached_until_the_files_change(tmp_path: Path) -> None:
    run = write_run(tmp_path, "r", payload("r", "2026-01-01T10:00:00+0000", {"m": 0.25}))
    runs = RunsDir(tmp_path)
    first = runs.runs()["data"][0]
    assert runs.runs()["data"][0] is first  # not read again
    (run / "results.json").write_bytes(orjson.dumps(payload("r", "2026-01-01T10:00:00+0000", {"m": 0.75})))
    stat = (run / "results.json").stat()
    os.utime(run / "results.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert runs.runs()["data"][0]["scores"][0]["mean"] == 0.75
    (run / "report.html").unlink()
    assert runs.runs()["data"][0]["report"] is False


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../x", ".hidden", "x" * 201, "a\\b", "a\x00b"])
def test_names_that_are_not_a_run_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        RunsDir(tmp_path).run_dir(name)
    assert err.value.status == 404 and err.value.param == "run_id"


def test_symlinks_leading_out_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "runs", tmp_path / "outside"
    write_run(outside, "run", payload("run", "2026-01-01T10:00:00+0000", {"m": 1.0}))
    root.mkdir()
    (root / "link").symlink_to(outside / "run", target_is_directory=True)
    inner = write_run(root, "inner", payload("inner", "2026-01-01T10:00:00+0000", {"m": 1.0}), report=False)
    (inner / "report.html").symlink_to(outside / "run" / "report.html")
    runs = RunsDir(root)
    assert [r["id"] for r in runs.runs()["data"]] == ["inner"]
    for call in (
        lambda: runs.report("link"),
        lambda: runs.report("inner"),
        lambda: runs.compare("link", "inner"),
    ):
        with pytest.raises(InvalidRequest) as err:
            call()
        assert err.value.status == 404


def test_compare_of_unrelated_payloads_is_a_clear_400(tmp_path: Path) -> None:
    write_run(tmp_path, "a", payload("a", "2026-01-01T10:00:00+0000", {"m": 1.0}))
    write_run(tmp_path, "b", {"run": {"models": ["m"]}})
    with pytest.raises(InvalidRequest) as err:
        RunsDir(tmp_path).compare("a", "b")
    assert err.value.status == 400 and "cannot be compared" in err.value.message


def test_files_linked_from_outside_are_neither_read_nor_listed(tmp_path: Path) -> None:
    root, outside = tmp_path / "runs", tmp_path / "outside"
    write_run(outside, "run", payload("secret", "2026-01-01T10:00:00+0000", {"secret-model": 1.0}))
    (root / "r").mkdir(parents=True)
    for name in ("results.json", "report.html"):
        (root / "r" / name).symlink_to(outside / "run" / name)
    runs = RunsDir(root)
    (row,) = runs.runs()["data"]
    assert row["report"] is False and row["scores"] == [] and "not a run directory" in row["error"]
    assert "secret" not in str(row)
    with pytest.raises(InvalidRequest):
        runs.compare("r", "r")
