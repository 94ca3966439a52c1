from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from lockgate.cli.drill import drill

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sovereign.yaml"


def write(tmp_path: Path, insured: bool) -> Path:
    deps: list[dict[str, Any]] = [{"provider": "cn", "model": "deepseek-chat"}]
    if insured:
        deps.append({"provider": "local", "model": "r1", "self_hosted_copy_of": "deepseek-chat"})
    cfg = {
        "data_dir": str(tmp_path / "state"),
        "providers": {
            "local": {"kind": "llamacpp", "engine": {"replicas": 1}},
            "cn": {"base_url": "http://127.0.0.1:9103/v1", "catalogue": "deepseek"},
            "us": {"base_url": "http://127.0.0.1:9102/v1", "catalogue": "openai"},
        },
        "models": {
            "deepseek-chat": {"deployments": deps, "protected": True},
            "gpt": {"deployments": [{"provider": "us", "model": "gpt-4o-mini"}]},
        },
    }
    path = tmp_path / f"drill-{insured}.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "220"}).invoke(drill, list(args))
    return result.exit_code, result.output


def test_insured_json_exit_zero(tmp_path: Path) -> None:
    code, out = invoke("-c", str(write(tmp_path, True)), "--cut", "CN", "--policy", "public-data", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["cuts"] == ["CN"] and data["policies"] == ["on-prem-only", "public-data"]
    rows = {(a["alias"], a["policy"]): a for a in data["aliases"]}
    ds = rows[("deepseek-chat", "public-data")]
    assert ds["status"] == "insured" and ds["serving"] == ["local/r1"] and ds["fallback_to_copy"]
    assert ds["lost"] == [
        {"deployment": "cn/deepseek-chat", "policy": "cut", "rule": "kill-switch", "detail": "cut: CN"}
    ]
    assert rows[("gpt", "public-data")]["status"] == "ok"
    assert rows[("gpt", "on-prem-only")]["status"] == "dark"  # not protected: no failure


def test_uninsured_protected_alias_exits_one(tmp_path: Path) -> None:
    code, out = invoke("-c", str(write(tmp_path, False)), "--cut", "PRC-NIL", "--policy", "public-data")
    assert code == 1
    assert "FAIL: protected alias(es) go dark: deepseek-chat" in out
    assert "cut: PRC-NIL" in out and "dark" in out


def test_table_for_example_cut_us() -> None:
    code, out = invoke("-c", str(EXAMPLE), "--cut", "US")
    assert code == 0, out
    assert "Exit drill: cut US" in out and "OK: every protected alias keeps working" in out
    assert "us-cloud/gpt-4o-mini: cut: US" in out
    assert "eu-sovereign" in out and "no-us-cloud-act" in out and "eu-zdr" in out


def test_bad_cut_and_policy_are_one_line(tmp_path: Path) -> None:
    path = str(write(tmp_path, True))
    code, out = invoke("-c", path, "--cut", "Mars")
    assert code != 0 and out.startswith("Error: --cut: unknown cut target 'Mars'") and out.count("\n") == 1
    code, out = invoke("-c", path, "--policy", "nope")
    assert code != 0 and out.startswith("Error: --policy: unknown policy 'nope'")
    code, out = invoke("-c", path, "--live")
    assert code != 0 and "--key" in out
