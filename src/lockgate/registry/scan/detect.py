"""Format detection: an ordered table of small detectors, first answer wins."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

GGUF = "gguf"
SAFETENSORS = "safetensors"
PICKLE = "pickle"
PYTORCH_ZIP = "pytorch-zip"
HF_FOLDER = "hf-folder"
UNKNOWN = "unknown"
FORMATS = (GGUF, SAFETENSORS, PICKLE, PYTORCH_ZIP, HF_FOLDER, UNKNOWN)

PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".dat", ".data", ".pt", ".pth", ".bin", ".ckpt"})
_HEAD_BYTES = 16

Detector = Callable[[Path, bytes], str | None]


def _gguf_magic(path: Path, head: bytes) -> str | None:
    return GGUF if head.startswith(b"GGUF") else None


def _torch_zip(path: Path, head: bytes) -> str | None:
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return PYTORCH_ZIP if path.suffix.lower() in PICKLE_SUFFIXES else UNKNOWN
    return PYTORCH_ZIP if any(n.endswith((".pkl", ".pickle")) for n in names) else UNKNOWN


def _pickle_protocol(path: Path, head: bytes) -> str | None:
    return PICKLE if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5 else None


def _safetensors_header(path: Path, head: bytes) -> str | None:
    if len(head) < 9 or head[8:9] != b"{":
        return None
    (length,) = struct.unpack("<Q", head[:8])
    return SAFETENSORS if 0 < length < path.stat().st_size else None


def _by_suffix(path: Path, head: bytes) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return SAFETENSORS
    if suffix == ".gguf":
        return GGUF
    return PICKLE if suffix in PICKLE_SUFFIXES else None


DETECTORS: tuple[Detector, ...] = (_gguf_magic, _torch_zip, _pickle_protocol, _safetensors_header, _by_suffix)


def detect_format(path: Path) -> str:
    """One of FORMATS for a file or directory; content magic first, then the file suffix."""
    path = Path(path)
    if path.is_dir():
        return HF_FOLDER
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    for detector in DETECTORS:
        found = detector(path, head)
        if found is not None:
            return found
    return UNKNOWN
