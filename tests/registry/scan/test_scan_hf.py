"""Hugging Face folders: remote code, executables, templates in tokenizer_config, nested pickles."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from types import SimpleNamespace

from lockgate.registry.scan import scan_path


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 8}))
    (root / "README.md").write_text("# model\n")
    return root


def _by_rule(root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in scan_path(root).findings:
        out.setdefault(finding.rule, []).append(finding.location)
    return out


def test_plain_folder_is_clean(tmp_path: Path, fx: SimpleNamespace) -> None:
    root = _folder(tmp_path)
    (root / "tokenizer_config.json").write_text(json.dumps({"chat_template": fx.CHATML}))
    report = scan_path(root)
    assert report.findings == []
    assert report.files_scanned == 3
    assert report.formats == {
        "README.md": "unknown",
        "config.json": "unknown",
        "tokenizer_config.json": "unknown",
    }


def test_auto_map_and_modeling_file_require_remote_code(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    config = {"model_type": "x", "auto_map": {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}}
    (root / "config.json").write_text(json.dumps(config))
    (root / "modeling_x.py").write_text("import os\n")
    report = scan_path(root)
    assert report.blocking
    assert sorted(f.location for f in report.findings if f.rule == "hf.remote-code") == [
        "config.json#auto_map",
        "modeling_x.py",
    ]
    assert any("modeling_x.XForCausalLM" in f.message for f in report.findings)


def test_unexpected_executables(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    (root / "setup.sh").write_text("echo hi\n")
    (root / "helper").write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 16)
    (root / "run").write_text("#!/bin/sh\necho\n")
    marked = root / "notes.txt"
    marked.write_text("plain")
    marked.chmod(0o755)
    assert sorted(_by_rule(root)["hf.executable"]) == ["helper", "notes.txt", "run", "setup.sh"]


def test_templates_in_tokenizer_config_and_jinja_files(tmp_path: Path, fx: SimpleNamespace) -> None:
    root = _folder(tmp_path)
    named = [{"name": "default", "template": fx.CHATML}, {"name": "rag", "template": fx.TRIGGER_TEMPLATE}]
    (root / "tokenizer_config.json").write_text(json.dumps({"chat_template": named}))
    (root / "chat_template.jinja").write_text(fx.RCE_TEMPLATE)
    rules = _by_rule(root)
    assert set(rules["template.trigger-conditional"]) == {"tokenizer_config.json#chat_template.rag"}
    assert set(rules["template.code-execution"]) == {"chat_template.jinja"}


def test_pickles_inside_the_folder_are_scanned(tmp_path: Path, fx: SimpleNamespace) -> None:
    root = _folder(tmp_path)
    fx.write_torch_zip(root / "pytorch_model.bin", fx.malicious_pickle())
    (root / "sub").mkdir()
    (root / "sub" / "training_args.bin").write_bytes(pickle.dumps({"lr": 0.1}, protocol=2))
    report = scan_path(root)
    assert report.formats["pytorch_model.bin"] == "pytorch-zip"
    assert report.formats["sub/training_args.bin"] == "pickle"
    assert {f.location for f in report.findings} == {"pytorch_model.bin#archive/data.pkl"}


def test_git_folder_is_skipped_and_bad_json_reported(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    (root / ".git").mkdir()
    (root / ".git" / "hook.sh").write_text("echo\n")
    (root / "config.json").write_text("{broken")
    report = scan_path(root)
    assert [(f.rule, f.location) for f in report.findings] == [("hf.bad-json", "config.json")]
    assert not report.blocking
