"""Evaluation runs as the console shows them: the run directories ``lockgate eval run`` wrote
under the configured ``eval.runs_dir``, each run's report file, and the comparison of two runs
(``eval.compare``, the code behind ``lockgate eval compare``).

A run is named by its directory name, never by a path: the name must be one plain path
component, and the directory and every file served from it must resolve (symlinks followed)
inside the runs directory.  Summaries are cached by the results file's mtime and size, so a
console that lists the runs again reads only what changed.  Callers run these in a thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockgate.errors import InvalidRequest
from lockgate.eval.compare import CompareError, Comparison, compare_runs
from lockgate.eval.results import read_json

RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@=+-]{0,199}")
#: the files a run directory holds that the console serves
REPORT = "report.html"
RESULTS = "results.json"
RUN_INFO = "run.json"
MAX_RUNS = 1000
_Stamp = tuple[tuple[int, int], ...]


def _not_found(message: str, param: str = "run_id") -> InvalidRequest:
    return InvalidRequest(message, param=param, status=404, code="run_not_found")


def _inside(path: Path, root: Path) -> bool:
    return path.is_relative_to(root)


def _file(run_dir: Path, name: str) -> Path | None:
    """``run_dir/name`` if it is a file that resolves (symlinks followed) inside ``run_dir``."""
    path = (run_dir / name).resolve()
    return path if _inside(path, run_dir) and path.is_file() else None


def _score_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    by_model = payload["metrics"]["by_model"]
    return [
        {"model": m, "mean": by_model[m]["mean"], "ci_low": by_model[m]["ci_low"],
         "ci_high": by_model[m]["ci_high"], "graded": by_model[m]["graded"], "n": by_model[m]["n"],
         "refusal_rate": by_model[m]["refusal_rate"], "failures": by_model[m]["failures"]}
        for m in payload["run"]["models"] if m in by_model
    ]  # fmt: skip


def summarise(name: str, run_dir: Path) -> dict[str, Any]:
    """One row of the run list: suite, models, dates and the mean score per model."""
    row: dict[str, Any] = {"id": name, "suite": None, "suite_name": None, "models": [], "started_at": None,
                           "finished_at": None, "complete": False, "scores": [], "items": None,
                           "report": _file(run_dir, REPORT) is not None, "error": None}  # fmt: skip
    results, info = _file(run_dir, RESULTS), _file(run_dir, RUN_INFO)
    try:
        if results is not None:
            payload = read_json(results)
            run = payload["run"]
            row["scores"] = _score_rows(payload)
            row["items"] = len({r["item_id"] for r in payload["items"]})
        elif info is not None:
            run = read_json(info)  # started, no results written yet
        else:
            return {**row, "error": f"no {RESULTS} or {RUN_INFO}: not a run directory"}
        row.update({k: run.get(k) for k in ("suite", "suite_name", "models", "started_at", "finished_at")})
        row["complete"] = bool(run.get("complete")) and results is not None
        row["run_id"] = run.get("run_id")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        row["error"] = f"{RESULTS} unreadable: {type(exc).__name__}: {exc}"
    return row


def _stamp(run_dir: Path) -> _Stamp:
    stamps: list[tuple[int, int]] = []
    for name in (RESULTS, RUN_INFO, REPORT):
        try:
            st = (run_dir / name).stat()
        except OSError:
            stamps.append((0, -1))
            continue
        stamps.append((st.st_mtime_ns, st.st_size))
    return tuple(stamps)


def _comparison(c: Comparison) -> dict[str, Any]:
    return {
        "run_a": c.run_a, "run_b": c.run_b, "only_a": c.only_a, "only_b": c.only_b,
        "changes": [
            {"model": ch.model,
             "deltas": [{"scope": d.scope, "score_a": d.score_a, "score_b": d.score_b, "score_delta": d.score_delta,
                         "refusal_a": d.refusal_a, "refusal_b": d.refusal_b, "refusal_delta": d.refusal_delta}
                        for d in ch.deltas],
             "flips": [{"item_id": f.item_id, "before": f.before, "after": f.after} for f in ch.flips]}
            for ch in c.changes
        ],
    }  # fmt: skip


@dataclass
class RunsDir:
    """The configured runs directory; ``root`` may not exist yet (no run made)."""

    root: Path
    _cache: dict[str, tuple[_Stamp, dict[str, Any]]] = field(default_factory=dict)

    @property
    def real_root(self) -> Path:
        return self.root.expanduser().resolve()

    def runs(self) -> dict[str, Any]:
        root = self.real_root
        out: dict[str, Any] = {"runs_dir": str(root), "exists": root.is_dir(), "data": [], "truncated": False}
        if not out["exists"]:
            return out
        names = sorted(p.name for p in root.iterdir() if RUN_NAME.fullmatch(p.name))
        rows = []
        for name in names:
            path = (root / name).resolve()
            if not (_inside(path, root) and path.is_dir()):
                continue
            stamp = _stamp(path)
            cached = self._cache.get(name)
            if cached is None or cached[0] != stamp:
                cached = (stamp, summarise(name, path))
                self._cache[name] = cached
            rows.append(cached[1])
        for gone in set(self._cache) - set(names):
            del self._cache[gone]
        rows.sort(key=lambda r: (r["started_at"] or "", r["id"]), reverse=True)
        out["truncated"] = len(rows) > MAX_RUNS
        out["data"] = rows[:MAX_RUNS]
        return out

    def run_dir(self, name: str, param: str = "run_id") -> Path:
        """The directory of run ``name``; 404 for anything that is not a run directly inside root."""
        if not RUN_NAME.fullmatch(name):
            raise _not_found(f"{name!r} is not a run name (one directory name under the runs directory).",
                             param)  # fmt: skip
        root = self.real_root
        path = (root / name).resolve()
        if not (_inside(path, root) and path.is_dir()):
            raise _not_found(f"No evaluation run named {name!r} in {root}.", param)
        return path

    def report(self, name: str) -> bytes:
        path = _file(self.run_dir(name), REPORT)
        if path is None:
            raise _not_found(f"Run {name!r} has no {REPORT} (an interrupted run writes it when resumed).")
        return path.read_bytes()

    def compare(self, a: str, b: str) -> dict[str, Any]:
        dir_a, dir_b = self.run_dir(a, "a"), self.run_dir(b, "b")
        for name, path, param in ((a, dir_a, "a"), (b, dir_b, "b")):
            if _file(path, RESULTS) is None:
                raise _not_found(f"Run {name!r} has no {RESULTS} yet; it cannot be compared.", param)
        try:
            return _comparison(compare_runs(dir_a, dir_b))
        except (CompareError, OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidRequest(
                f"Runs {a!r} and {b!r} cannot be compared: {type(exc).__name__}: {exc}",
                param="b", code="compare_failed",
            ) from None  # fmt: skip
