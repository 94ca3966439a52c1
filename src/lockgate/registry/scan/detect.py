"""Format detection by structure, not by a first byte.

Every structural probe runs on every file, and the file name is read as a claim to check,
not as a fallback. `detect(path)` returns a `Detection`: the formats the name promises, the
formats the bytes really parse as (strong: a validated layout; weak: only a magic prefix),
the primary format (what `detect_format` reports) and every format that must be scanned.
`scan_path` runs all of them and keeps every finding, so the strictest result wins.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

GGUF = "gguf"
SAFETENSORS = "safetensors"
PICKLE = "pickle"
PYTORCH_ZIP = "pytorch-zip"
HF_FOLDER = "hf-folder"
MSGPACK = "msgpack"
UNKNOWN = "unknown"
FORMATS = (GGUF, SAFETENSORS, PICKLE, PYTORCH_ZIP, HF_FOLDER, MSGPACK, UNKNOWN)

PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".dat", ".data", ".pt", ".pth", ".bin", ".ckpt"})
MSGPACK_SUFFIXES = frozenset({".bin"})
# Suffixes that promise model weights: a file with one of them that no scanner can parse blocks.
WEIGHT_SUFFIXES = frozenset({".safetensors", ".gguf", ".bin", ".pt", ".pth", ".ckpt", ".pkl"})
GGUF_VERSIONS = range(1, 4)
SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024
_HEAD_BYTES = 16
_HEADER_TAIL_PROBE = 4096


def expected_formats(path: Path) -> frozenset[str]:
    """The formats a file's name promises (empty when the suffix promises nothing)."""
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return frozenset({SAFETENSORS})
    if suffix == ".gguf":
        return frozenset({GGUF})
    if suffix in MSGPACK_SUFFIXES:  # `.bin`: PyTorch pickles, and spaCy's MessagePack tables
        return frozenset({PICKLE, PYTORCH_ZIP, MSGPACK})
    if suffix in PICKLE_SUFFIXES:
        return frozenset({PICKLE, PYTORCH_ZIP})
    return frozenset()


def _is_gguf(head: bytes) -> bool:
    if len(head) < 8 or not head.startswith(b"GGUF"):
        return False
    (version,) = struct.unpack("<I", head[4:8])
    return version in GGUF_VERSIONS


def _is_safetensors(path: Path, head: bytes, size: int) -> bool:
    """8-byte length, a header inside the file that starts with '{' and ends with '}' (+ padding)."""
    if len(head) < 10 or head[8:9] != b"{":
        return False
    (length,) = struct.unpack("<Q", head[:8])
    if not 2 <= length <= min(SAFETENSORS_MAX_HEADER, size - 8):
        return False
    end = 8 + length
    with path.open("rb") as fh:
        while end > 9:  # walk back over the space padding writers may add
            start = max(9, end - _HEADER_TAIL_PROBE)
            fh.seek(start)
            tail = fh.read(end - start).rstrip(b" ")
            if tail:
                return tail.endswith(b"}")
            end = start
    return False


def _zip_members(path: Path) -> list[str] | None:
    """Member names when a zip central directory is found anywhere (prefix data allowed)."""
    try:
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def _is_pickle_magic(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and head[1] <= 5


def _is_msgpack_container(head: bytes) -> bool:
    """A MessagePack map or array header (spaCy's `.bin` tables start with one)."""
    if head.startswith(b"\x93NUMPY"):  # a .npy array (spaCy's vectors), not a fixarray
        return False
    return bool(head) and (0x80 <= head[0] <= 0x9F or 0xDC <= head[0] <= 0xDF)


@dataclass(frozen=True)
class Detection:
    expected: frozenset[str]
    """Formats the file name promises."""
    strong: tuple[str, ...]
    """Formats whose layout the bytes validate as (GGUF magic+version, safetensors header, zip)."""
    weak: tuple[str, ...]
    """Formats suggested only by a magic prefix (a pickle PROTO opcode)."""
    archive_members: tuple[str, ...] = ()
    """Names inside the zip archive the file also is, if any."""

    @property
    def structural(self) -> tuple[str, ...]:
        return self.strong + tuple(f for f in self.weak if f not in self.strong)

    @property
    def primary(self) -> str:
        for candidates in (self.strong, self.weak):
            matching = [f for f in candidates if f in self.expected]
            if matching:
                return matching[0]
            if candidates:  # a validated layout outranks what a weaker probe or the name says
                return candidates[0]
        if self.expected:
            return PICKLE if PICKLE in self.expected else next(iter(self.expected))
        return UNKNOWN

    @property
    def to_scan(self) -> tuple[str, ...]:
        """Every format worth a scanner: the primary, the named one, and each structural one."""
        named = tuple(self.expected) if len(self.expected) == 1 else ()
        ordered = (self.primary, *named, *self.structural)
        return tuple(dict.fromkeys(ordered))

    @property
    def mismatch(self) -> bool:
        """The name promises a format and the bytes validate as another one, not that one."""
        evidence = self.strong or self.weak  # a validated layout outranks a magic prefix
        return bool(self.expected and evidence and not set(evidence) & self.expected)

    @property
    def polyglot(self) -> tuple[str, ...]:
        """Two or more distinct layouts validated in one file (e.g. safetensors with a zip tail)."""
        return self.strong if len(self.strong) > 1 else ()


def detect(path: Path) -> Detection:
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    strong: list[str] = []
    if _is_gguf(head):
        strong.append(GGUF)
    if _is_safetensors(path, head, size):
        strong.append(SAFETENSORS)
    members = _zip_members(path)
    if members is not None:
        is_torch = any(n.endswith((".pkl", ".pickle")) for n in members)
        expected = expected_formats(path)
        if is_torch or expected or strong or not head.startswith(b"PK"):
            # a plain zip (docs, assets) stays unknown; a zip hiding behind another layout or a
            # weights name is scanned as a checkpoint (its pickle members are found by magic)
            strong.append(PYTORCH_ZIP)
    weak = [PICKLE] if _is_pickle_magic(head) else []
    if _is_msgpack_container(head) and not (strong or weak):  # 0x80 0x0N is a pickle's PROTO
        weak.append(MSGPACK)
    return Detection(expected_formats(path), tuple(strong), tuple(weak), tuple(members or ()))


def detect_format(path: Path) -> str:
    """One of FORMATS for a file or directory: the format the file is primarily scanned as."""
    path = Path(path)
    if path.is_dir():
        return HF_FOLDER
    return detect(path).primary
