from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from tests.registry.conftest import bundled_db, write_gguf

from lockgate.cli.models import models

__all__ = ["bundled_db"]  # the session fixture, shared with tests/registry

EU_RULE = "licence.eu-domicile-exclusion"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    cfg = {"data_dir": str(tmp_path / "state"), "operator": {"domicile": "DE", "monthly_active_users": 5000}}
    path = tmp_path / "lockgate.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(models, [*args, "-c", str(config)])
    return result.exit_code, result.output


def run_plain(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(models, list(args))
    return result.exit_code, result.output


def test_add_list_show_licence_ack(config_file: Path, tmp_path: Path) -> None:
    vision = write_gguf(tmp_path / "v.gguf", "Llama-3.2-11B-Vision-Instruct", "llama3.2", arch="mllama")
    code, out = run(config_file, "add", str(vision), "--source-url", "https://example.invalid/v")
    assert code == 0, out
    assert "LicenseRef-Llama-3.2-Community" in out and "scan clean" in out
    code, out = run(config_file, "list", "--json")
    [listed] = json.loads(out)
    art_id = listed["id"]
    assert listed["checkpoint"] == "llama-3.2-vision" and listed["source_url"] == "https://example.invalid/v"
    code, out = run(config_file, "list")
    assert code == 0 and art_id in out and "mllama" in out

    code, out = run(config_file, "licence", art_id, "--json")
    assert code == 0 and json.loads(out)["blocking"] == [EU_RULE]
    code, out = run(config_file, "ack", art_id, "licence.made-up", "--reason", "x")
    assert code == 2 and EU_RULE in out
    code, out = run(config_file, "ack", art_id, EU_RULE, "--reason", "reviewed by counsel", "--by", "anna")
    assert code == 0 and "by anna" in out

    code, out = run(config_file, "show", art_id, "--json")
    shown = json.loads(out)
    assert shown["acknowledgements"][0]["rule"] == EU_RULE
    assert shown["acknowledgements"][0]["reason"] == "reviewed by counsel"
    assert shown["files"][0]["sha256"] and shown["chat_template_sha256"]
    code, out = run(config_file, "show", "Llama-3.2-11B-Vision-Instruct")
    assert code == 0 and "acknowledged" in out and "chat template:" in out


def test_verify_and_remove(config_file: Path, tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "s.gguf", "SmolLM2-360M", "apache-2.0")
    assert run(config_file, "add", str(path), "--name", "smol")[0] == 0
    code, out = run(config_file, "verify")
    assert code == 0 and "smol: ok" in out
    path.write_bytes(path.read_bytes() + b"\0")
    code, out = run(config_file, "verify", "smol")
    assert code == 1 and "changed: s.gguf" in out
    code, out = run(config_file, "remove", "smol")
    assert code == 0 and "removed" in out
    code, out = run(config_file, "show", "smol")
    assert code == 1 and "no registered artifact 'smol'" in out
    assert json.loads(run(config_file, "list", "--json")[1]) == []


def test_add_errors_are_one_line(config_file: Path) -> None:
    code, out = run(config_file, "add", "no-such-model-anywhere")
    assert code == 1 and "neither an existing file" in out
    code, out = run(config_file, "licence", "no-such-checkpoint")
    assert code == 1 and "lockgate models licence" in out


class _Shell:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("id",))


def test_scan_exit_codes_and_outputs(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps([_Shell()]))
    clean = write_gguf(tmp_path / "clean.gguf", "SmolLM2-135M", "apache-2.0")
    code, out = run_plain("scan", str(clean))
    assert code == 0, out
    code, out = run_plain("scan", str(evil))
    assert code == 1 and "blocking" in out
    code, out = run_plain("scan", str(evil), "--json")
    assert code == 1 and json.loads(out)["blocking"] is True
    sarif = tmp_path / "out.sarif"
    code, _ = run_plain("scan", str(evil), "--sarif", "-o", str(sarif))
    assert code == 1 and json.loads(sarif.read_text())["version"] == "2.1.0"
    assert run_plain("scan", str(evil), "--json", "--sarif")[0] == 2
    assert run_plain("scan", str(tmp_path / "missing.gguf"))[0] == 2


def test_licence_register_view(config_file: Path) -> None:
    code, out = run(config_file, "licence")
    assert code == 0 and "llama-3.2-vision" in out and "domicile=DE" in out
    rows = json.loads(run(config_file, "licence", "--json")[1])
    verdicts = {r["checkpoint"]: r["blocking"] for r in rows}
    assert verdicts["llama-4"] == [EU_RULE] and verdicts["llama-3.2"] == []
    assert verdicts["qwen2.5-3b"] == ["licence.non-commercial"]
    code, out = run(config_file, "licence", "meta-llama/Llama-4-Scout-17B-16E-Instruct")
    assert code == 0 and "BLOCKS" in out


def test_bom_of_the_bundled_model_validates(config_file: Path, tmp_path: Path, bundled_db: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    shutil.copyfile(bundled_db, state / "lockgate.db")
    code, out = run(config_file, "verify")
    assert code == 0 and "bundled:smollm2: ok" in out
    target = tmp_path / "bom.json"
    code, _ = run(config_file, "bom", "-o", str(target))
    assert code == 0
    text = target.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    [component] = json.loads(text)["components"]
    assert component["name"] == "bundled:smollm2" and component["type"] == "machine-learning-model"
