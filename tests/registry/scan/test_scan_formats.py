"""Format detection by structure: property tests and a corpus of confusable files.

Valid safetensors with every low byte of the header length (0x80 included, which is a
pickle PROTO opcode), GGUF files with random metadata, and files whose name and bytes
disagree or that are valid as two formats at once.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gguf
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.registry.scan import detect_format, scan_path
from lockgate.registry.scan.detect import GGUF, PICKLE, PYTORCH_ZIP, SAFETENSORS, detect

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def safetensors_with_header_length(target: int, tensors: int = 1, pad_with_spaces: bool = False) -> bytes:
    """A valid safetensors file whose JSON header is exactly `target` bytes long."""
    header: dict[str, Any] = {}
    data = b""
    for i in range(tensors):
        header[f"t{i}"] = {"dtype": "F32", "shape": [2], "data_offsets": [8 * i, 8 * i + 8]}
        data += struct.pack("<2f", i, -i)
    base = json.dumps(header, separators=(",", ":")).encode()
    if pad_with_spaces:
        raw = base + b" " * (target - len(base))
    else:
        header["__metadata__"] = {"format": "pt", "pad": ""}
        empty = len(json.dumps(header, separators=(",", ":")).encode())
        header["__metadata__"]["pad"] = "x" * (target - empty)
        raw = json.dumps(header, separators=(",", ":")).encode()
    assert len(raw) == target
    return struct.pack("<Q", len(raw)) + raw + data


def _rules(path: Path) -> set[str]:
    return {f.rule for f in scan_path(path).findings}


# ---------------------------------------------------------------- safetensors, every low byte


@pytest.mark.parametrize("high", [0x02, 0x03, 0x05])
def test_safetensors_every_low_byte_of_header_length(tmp_path: Path, high: int) -> None:
    """Lengths 0x0200..0x05ff: the first two bytes run through every pickle PROTO look-alike."""
    path = tmp_path / "model.safetensors"
    for low in range(256):
        target = (high << 8) | low
        path.write_bytes(safetensors_with_header_length(target, pad_with_spaces=bool(low & 1)))
        assert path.read_bytes()[:2] == bytes([low, high])
        assert detect_format(path) == SAFETENSORS, hex(target)
        report = scan_path(path)
        assert report.findings == [], (hex(target), report.findings)
        assert report.formats == {"model.safetensors": SAFETENSORS}


def test_safetensors_without_suffix_is_still_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "weights"
    path.write_bytes(safetensors_with_header_length(0x0280))
    assert path.read_bytes()[:2] == b"\x80\x02"  # also a pickle protocol-2 header
    assert detect_format(path) == SAFETENSORS
    assert scan_path(path).findings == []


def test_crafted_safetensors_behind_a_pickle_byte_is_still_validated(tmp_path: Path) -> None:
    """The original bug: length low byte 0x80 used to route the file to the pickle scanner."""
    header = json.dumps({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    raw = header + b" " * (0x0280 - len(header))
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\x00" * 8 + b"PAYLOAD!" * 4)
    report = scan_path(path)
    assert "safetensors.trailing-data" in {f.rule for f in report.findings}
    assert report.blocking


@given(
    target=st.integers(min_value=400, max_value=70_000),
    tensors=st.integers(min_value=1, max_value=4),
    spaces=st.booleans(),
)
@PROPERTY_SETTINGS
def test_property_valid_safetensors_detected_and_clean(
    tmp_path: Path, target: int, tensors: int, spaces: bool
) -> None:
    path = tmp_path / "p.safetensors"
    path.write_bytes(safetensors_with_header_length(target, tensors, spaces))
    assert detect(path).strong == (SAFETENSORS,)
    report = scan_path(path)
    assert report.formats == {"p.safetensors": SAFETENSORS}
    assert report.findings == []


# ---------------------------------------------------------------- GGUF with random metadata

_KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).map(lambda k: f"test.{k}")
_VALUE = st.one_of(
    st.text(max_size=40).map(lambda v: ("str", v)),
    st.integers(min_value=0, max_value=2**32 - 1).map(lambda v: ("u32", v)),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda v: ("i64", v)),
    st.floats(allow_nan=False, width=32).map(lambda v: ("f32", v)),
    st.booleans().map(lambda v: ("bool", v)),
    st.lists(st.integers(min_value=0, max_value=1000), max_size=8).map(lambda v: ("arr", v)),
)


def _write_random_gguf(
    path: Path, arch: str, metadata: dict[str, tuple[str, Any]], shape: tuple[int, int]
) -> None:
    writer = gguf.GGUFWriter(path, arch)
    writer.add_context_length(4096)
    adders = {
        "str": writer.add_string,
        "u32": writer.add_uint32,
        "i64": writer.add_int64,
        "f32": writer.add_float32,
        "bool": writer.add_bool,
        "arr": writer.add_array,
    }
    for key, (kind, value) in metadata.items():
        adders[kind](key, value)
    writer.add_tensor("w", np.arange(shape[0] * shape[1], dtype=np.float32).reshape(shape))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@given(
    arch=st.sampled_from(["llama", "qwen2", "gemma", "phi3"]),
    metadata=st.dictionaries(_KEY, _VALUE, max_size=8),
    shape=st.tuples(st.integers(1, 8), st.integers(1, 8)),
)
@settings(PROPERTY_SETTINGS, max_examples=25)
def test_property_gguf_with_random_metadata(
    tmp_path: Path, arch: str, metadata: dict[str, tuple[str, Any]], shape: tuple[int, int]
) -> None:
    path = tmp_path / "m.gguf"
    path.unlink(missing_ok=True)
    _write_random_gguf(path, arch, metadata, shape)
    found = detect(path)
    assert found.strong == (GGUF,) and found.primary == GGUF
    report = scan_path(path)
    assert report.formats == {"m.gguf": GGUF}
    assert not report.blocking, report.findings


# ---------------------------------------------------------------- confusable corpus


def _torch_zip_bytes(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _plain_zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


def _safetensors_covering(tail: bytes) -> bytes:
    """A safetensors file whose one U8 tensor is exactly `tail`: clean as safetensors alone."""
    header = json.dumps({"blob": {"dtype": "U8", "shape": [len(tail)], "data_offsets": [0, len(tail)]}})
    raw = header.encode()
    return struct.pack("<Q", len(raw)) + raw + tail


def _corpus(fx: SimpleNamespace, tmp_path: Path) -> dict[str, tuple[bytes, set[str]]]:
    """name -> (bytes, rules that must be among the findings)."""
    gguf_bytes = fx.write_gguf(tmp_path / "src.gguf", None).read_bytes()
    benign_pickle = pickle.dumps({"lr": 0.1}, protocol=4)
    evil = fx.malicious_pickle()
    st_bytes = safetensors_with_header_length(0x0180)
    return {
        "pickle.safetensors": (benign_pickle, {"file.format-mismatch"}),
        "evil-pickle.safetensors": (evil, {"file.format-mismatch", "pickle.dangerous-global"}),
        "zip.gguf": (_plain_zip_bytes(), {"file.format-mismatch", "gguf.malformed"}),
        "torchzip.gguf": (_torch_zip_bytes(evil), {"file.format-mismatch", "pickle.dangerous-global"}),
        "torchzip.safetensors": (_torch_zip_bytes(benign_pickle), {"file.format-mismatch"}),
        "gguf.safetensors": (gguf_bytes, {"file.format-mismatch"}),
        "safetensors.gguf": (st_bytes, {"file.format-mismatch", "gguf.malformed"}),
        "safetensors.pkl": (st_bytes, {"file.format-mismatch"}),
        "gguf.bin": (gguf_bytes, {"file.format-mismatch"}),
        "zip-tail.safetensors": (st_bytes + _torch_zip_bytes(benign_pickle), {"file.polyglot"}),
        "zip-tail-covered.safetensors": (
            _safetensors_covering(_torch_zip_bytes(benign_pickle)),
            {"file.polyglot"},
        ),
        "evil-zip-tail.safetensors": (
            _safetensors_covering(_torch_zip_bytes(evil)),
            {"file.polyglot", "pickle.dangerous-global"},
        ),
        "plain-zip-tail.safetensors": (_safetensors_covering(_plain_zip_bytes()), {"file.polyglot"}),
        "zip-tail.gguf": (gguf_bytes + _torch_zip_bytes(benign_pickle), {"file.polyglot"}),
        "garbage.safetensors": (b"\x00" * 3, {"safetensors.truncated"}),
        "garbage.gguf": (b"not a gguf at all", {"gguf.malformed"}),
        "garbage.bin": (b"\x00\x01\x02 random bytes", {"file.unparseable"}),
        "garbage.pt": (b"\xde\xad\xbe\xef" * 8, {"file.unparseable"}),
        "garbage.pth": (b"", {"file.unparseable"}),
        "garbage.ckpt": (b"hello world", {"file.unparseable"}),
        "garbage.pkl": (b"\x80\x02\xff\xff", {"file.unparseable"}),
        "truncated-zip.pt": (_torch_zip_bytes(benign_pickle)[:-30], {"file.unparseable"}),
    }


def test_confusable_corpus_is_caught(tmp_path: Path, fx: SimpleNamespace) -> None:
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    missed = {}
    for name, (data, must) in _corpus(fx, tmp_path).items():
        path = corpus_dir / name
        path.write_bytes(data)
        report = scan_path(path)
        rules = {f.rule for f in report.findings}
        if not report.blocking or not must <= rules:
            missed[name] = sorted(rules)
    assert missed == {}


def test_confusable_folder_is_blocking(tmp_path: Path, fx: SimpleNamespace) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "config.json").write_text("{}")
    (root / "model.safetensors").write_bytes(fx.malicious_pickle())
    report = scan_path(root)
    assert report.blocking
    assert report.formats["model.safetensors"] == PICKLE
    assert {"file.format-mismatch", "pickle.dangerous-global"} <= {f.rule for f in report.findings}


# ---------------------------------------------------------------- benign files still pass


def test_benign_files_pass(tmp_path: Path, fx: SimpleNamespace) -> None:
    benign = {
        "model.safetensors": safetensors_with_header_length(0x0280),
        "model.gguf": fx.write_gguf(tmp_path / "src.gguf", fx.CHATML).read_bytes(),
        "pytorch_model.bin": _torch_zip_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2)),
        "training_args.bin": pickle.dumps({"lr": 0.1}, protocol=2),
        "legacy.pkl": b"(dp0\n.",
        "optimizer.pt": pickle.dumps([1, 2, 3], protocol=5),
        "notes.txt": b"\x80\x02 starts like a pickle but is only text",
        "assets.zip": _plain_zip_bytes(),
        "README.md": b"# model\n",
    }
    formats = {
        "model.safetensors": SAFETENSORS,
        "model.gguf": GGUF,
        "pytorch_model.bin": PYTORCH_ZIP,
        "training_args.bin": PICKLE,
        "legacy.pkl": PICKLE,
        "optimizer.pt": PICKLE,
    }
    for name, data in benign.items():
        path = tmp_path / name
        path.write_bytes(data)
        report = scan_path(path)
        assert not report.blocking, (name, report.findings)
        if name in formats:
            assert report.formats[name] == formats[name]
            assert report.findings == [], (name, report.findings)


def test_bundled_smollm2_gguf_passes(bundled_gguf: Path) -> None:
    found = detect(bundled_gguf)
    assert found.strong == (GGUF,) and found.weak == () and not found.mismatch
    report = scan_path(bundled_gguf)
    assert report.formats == {bundled_gguf.name: GGUF}
    assert not report.blocking, report.findings
