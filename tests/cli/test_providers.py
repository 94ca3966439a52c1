from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from lockgate.cli.providers import providers
from lockgate.config.loader import load_config
from lockgate.sovereignty.cuts import load_cuts
from lockgate.storage.db import open_store


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    cfg = {
        "data_dir": str(tmp_path / "state"),
        "providers": {
            "local": {"kind": "llamacpp", "engine": {"model": "bundled:smollm2", "replicas": 1}},
            "eu-cloud": {"base_url": "http://127.0.0.1:9101/v1", "catalogue": "mistral"},
            "cn-cloud": {
                "base_url": "http://127.0.0.1:9103/v1",
                "catalogue": "deepseek",
                "facts": {"retention": "unknown to us"},
            },
        },
        "models": {"chat": {"deployments": [{"provider": "cn-cloud", "model": "deepseek-chat"}]}},
    }
    path = tmp_path / "lockgate.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "220"}).invoke(providers, list(args))
    return result.exit_code, result.output


def stored(config_file: Path) -> set[str]:
    engine = open_store(load_config(config_file).storage_url())
    try:
        return load_cuts(engine)
    finally:
        engine.dispose()


def test_cut_restore_and_list(config_file: Path) -> None:
    c = str(config_file)
    code, out = run("cut", "cn", "--reason", "drill", "-c", c)
    assert code == 0, out
    assert out.strip() == "cut CN (country); affects: cn-cloud"
    code, out = run("cut", "cloud-act", "-c", c)
    assert code == 0 and "US-CLOUD-Act (law)" in out and "affects: no configured provider" in out
    assert stored(config_file) == {"CN", "US-CLOUD-Act"}

    code, out = run("cuts", "-c", c, "--json")
    rows = json.loads(out)
    assert code == 0 and {(r["target"], r["reason"]) for r in rows} == {
        ("CN", "drill"),
        ("US-CLOUD-Act", None),
    }
    code, out = run("cuts", "-c", c)
    assert code == 0 and "CN" in out and "drill" in out

    code, out = run("list", "-c", c, "--json")
    listed = {r["provider"]: r for r in json.loads(out)}
    assert listed["cn-cloud"]["cut"] == "CN" and listed["local"]["cut"] is None
    assert listed["cn-cloud"]["facts"]["retention"] == {
        "value": "unknown to us",
        "source": "config",
        "verified": False,
        "known": True,
    }
    assert listed["cn-cloud"]["effective_laws"] == ["PRC-NIL"]
    assert listed["local"]["facts"]["operator_country"]["value"] == "DE"

    code, out = run("restore", "CN", "-c", c)
    assert code == 0 and out.strip() == "restored CN"
    assert stored(config_file) == {"US-CLOUD-Act"}
    code, out = run("cuts", "-c", c)
    assert "CN" not in out.replace("CLOUD", "")


def test_cut_provider_by_name(config_file: Path) -> None:
    code, out = run("cut", "local", "-c", str(config_file))
    assert code == 0 and out.strip() == "cut local (provider); affects: local"


def test_bad_target_is_one_line_error(config_file: Path) -> None:
    code, out = run("cut", "Atlantis", "-c", str(config_file))
    assert code != 0
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: TARGET: unknown cut target 'Atlantis'")
    assert stored(config_file) == set()


def test_restore_without_cut(config_file: Path) -> None:
    code, out = run("restore", "US", "-c", str(config_file))
    assert code != 0 and "no cut on 'US'" in out


def test_list_table_and_catalogue(config_file: Path) -> None:
    code, out = run("list", "-c", str(config_file))
    assert code == 0 and "cn-cloud" in out and "deepseek" in out
    code, out = run("catalogue", "--json")
    entries = {e["name"]: e for e in json.loads(out)}
    assert code == 0 and {"deepseek", "openai-eu", "alibaba-eu", "stackit"} <= set(entries)
    assert entries["scaleway"]["facts"]["zero_data_retention"]["verified"] is True
    code, out = run("catalogue")
    assert code == 0 and "scaleway" in out


def test_bad_catalogue_in_config_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "s"),
                "providers": {"p": {"base_url": "http://127.0.0.1:1/v1", "catalogue": "nope"}},
            }
        ),
        encoding="utf-8",
    )
    code, out = run("list", "-c", str(path))
    assert code != 0 and "providers.p.catalogue: unknown catalogue entry 'nope'" in out
