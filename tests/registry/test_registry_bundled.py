from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from lockgate.registry import bundled
from lockgate.registry.artifacts import list_artifacts, verify
from lockgate.registry.bundled import (
    BUNDLED_NAME,
    BUNDLED_SHA256,
    BUNDLED_SIZE,
    BundledModelError,
    bundled_model_path,
    check_pin,
    ensure_bundled_registered,
)
from lockgate.registry.config import OperatorConfig
from lockgate.registry.gate import GateRefused, check_servable
from lockgate.registry.records import insert_artifact


def test_bundled_model_is_registered_with_its_pinned_hash(bundled_engine: Engine) -> None:
    [art] = list_artifacts(bundled_engine)
    assert art.name == BUNDLED_NAME
    assert Path(art.path) == bundled_model_path()
    assert [(f.sha256, f.size) for f in art.files] == [(BUNDLED_SHA256, BUNDLED_SIZE)]
    assert (art.format, art.architecture, art.quantization) == ("gguf", "llama", "Q4_1")
    assert art.parameter_count is not None and 130_000_000 < art.parameter_count < 140_000_000
    assert art.context_length == 8192
    assert art.chat_template is not None and "<|im_start|>" in art.chat_template
    assert (art.licence_id, art.checkpoint) == ("Apache-2.0", "smollm2")
    assert (art.publisher, art.publisher_country) == ("Hugging Face", "US")
    assert art.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert art.source_url == "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct"
    assert art.scan_status in {"clean", "findings"}  # nothing blocking
    assert verify(bundled_engine, art.id).ok
    result = check_servable(bundled_engine, bundled_model_path(), OperatorConfig(domicile="DE"), [])
    assert result.duties == [] and result.acknowledged == []
    assert ensure_bundled_registered(bundled_engine).id == art.id  # idempotent
    assert len(list_artifacts(bundled_engine)) == 1


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x01]))


def test_tampered_copy_of_the_bundled_model_fails_verify_and_gate(
    bundled_engine: Engine, tmp_path: Path
) -> None:
    [original] = list_artifacts(bundled_engine)
    copy = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    shutil.copyfile(original.path, copy)
    # the copy carries the same pinned record as the original, at its own path
    copy_art = replace(original, id="m-copy", name="copy", path=str(copy.resolve()))
    insert_artifact(bundled_engine, copy_art)
    assert verify(bundled_engine, "m-copy").ok
    _flip_byte(copy, BUNDLED_SIZE // 2)
    report = verify(bundled_engine, "m-copy")
    assert report.diff.changed == [copy.name]
    with pytest.raises(GateRefused, match="differ from the hashes pinned"):
        check_servable(bundled_engine, copy, OperatorConfig(domicile="US"), [])
    with pytest.raises(BundledModelError, match="does not match its pin"):
        check_pin(copy)


def test_start_up_refuses_a_bundled_file_that_is_not_the_pinned_one(
    reg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    fake.write_bytes(b"GGUF" + bytes(64))
    monkeypatch.setattr(bundled, "bundled_model_path", lambda: fake)
    with pytest.raises(BundledModelError, match="size 68"):
        ensure_bundled_registered(reg_engine)
    assert list_artifacts(reg_engine) == []
    fake.unlink()
    with pytest.raises(BundledModelError, match="missing"):
        ensure_bundled_registered(reg_engine)
