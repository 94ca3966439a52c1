"""``lockgate eval`` commands through click's test runner, against the scripted server."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from tests.eval.scripted import ScriptedServer, last_user, server

from lockgate.cli.eval import eval_group, parse_prices
from lockgate.eval.results import read_json

__all__ = ["server"]  # the fixture, imported so click tests can use the scripted server

SUITE = """
items:
  - {id: a, prompt: "Say 1", expected: 1, scorer: numeric, tags: [x]}
  - {id: b, prompt: "Say 2", expected: 2, scorer: numeric, tags: [y]}
  - {id: c, prompt: "Say 3", expected: 3, scorer: numeric, tags: [y]}
"""


def test_packs_lists_shipped_packs() -> None:
    result = CliRunner().invoke(eval_group, ["packs"])
    assert result.exit_code == 0, result.output
    for name in ("political", "injection", "leakage", "exfiltration"):
        assert name in result.output


def test_run_then_rerun_from_cache_then_compare(server: ScriptedServer, tmp_path: Path) -> None:
    server.responder = lambda body: last_user(body).split()[-1]
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    out = tmp_path / "run"
    args = ["run", str(suite), "--models", "m1@temperature=0,m1@temperature=1.0", "--out", str(out),
            "--base-url", server.base_url, "--price", "m1=1,2", "--tags", "y", "--concurrency", "2"]  # fmt: skip
    first = CliRunner().invoke(eval_group, args)
    assert first.exit_code == 0, first.output
    assert "4 upstream calls, 0 from cache" in first.output and (out / "report.html").exists()
    second = CliRunner().invoke(eval_group, args)
    assert second.exit_code == 0 and "0 upstream calls, 4 from cache" in second.output
    data = read_json(out / "results.json")
    assert data["run"]["tags"] == ["y"] and data["run"]["prices"] == {"m1": [1.0, 2.0]}
    assert {i["item_id"] for i in data["items"]} == {"b", "c"}
    resumed = CliRunner().invoke(eval_group, ["run", "--resume", str(out), "--api-key", "k"])
    assert resumed.exit_code == 0 and "0 upstream calls, 4 from cache" in resumed.output
    compared = CliRunner().invoke(eval_group, ["compare", str(out), str(out)])
    assert compared.exit_code == 0 and "flipped items: 0" in compared.output
    assert server.headers_seen[-1]["Authorization"] == "Bearer none"


def test_run_with_pack_name(server: ScriptedServer, tmp_path: Path) -> None:
    server.responder = lambda body: "I'm sorry, but I can't help with that."
    args = ["run", "leakage", "--models", "m1", "--out", str(tmp_path / "r"), "--base-url", server.base_url,
            "--sample", "4", "--seed", "1"]  # fmt: skip
    result = CliRunner().invoke(eval_group, args)
    assert result.exit_code == 0, result.output
    data = read_json(tmp_path / "r" / "results.json")
    assert len(data["items"]) == 4 and data["metrics"]["by_model"]["m1"]["refusal_rate"] == 1.0


def test_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "items:\n  - {id: z, prompt: hi, expected: x, scorer: {name: numeric}}\n", encoding="utf-8"
    )
    cases = [
        (["run", str(bad), "--models", "m"], "item 'z'"),
        (["run", "no-such-pack", "--models", "m"], "no shipped pack"),
        (["run", "leakage"], "--models"),
        (["run", "leakage", "--models", "m@temp"], "key=value"),
        (["run", "leakage", "--models", "m", "--price", "m=1"], "--price"),
        (["compare", str(tmp_path), str(tmp_path)], "no results.json"),
    ]
    for args, fragment in cases:
        result = CliRunner().invoke(eval_group, args)
        assert result.exit_code != 0, args
        assert fragment in result.output, (args, result.output)
        assert result.output.strip().count("\n") == 0, result.output


def test_parse_prices() -> None:
    assert parse_prices(("smollm2@temperature=0=0.1,0.2",)) == {"smollm2@temperature=0": (0.1, 0.2)}
