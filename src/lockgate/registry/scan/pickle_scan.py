"""Scanners for pickle-based weights: raw pickles and PyTorch zip archives.

Each pickle is analysed twice: by the `picklescan` library (the globals list Hugging Face's
hub scanning relies on) and by our own symbolic opcode walk (`pickle_ops`), which resolves
names passed through the memo, attributes INST/OBJ/NEWOBJ/REDUCE calls and reports calls
on computed values. A global counts as dangerous when either says so.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from picklescan.scanner import Global, SafetyLevel, scan_pickle_bytes

from lockgate.registry.scan import pickle_ops
from lockgate.registry.scan.model import Finding, locate
from lockgate.registry.scan.pickle_policy import Verdict, classify
from lockgate.registry.scan.rules import finding

SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
PICKLE_MEMBER_SUFFIXES = (".pkl", ".pickle")
MAX_PICKLE_MEMBER_BYTES = 512 * 1024 * 1024
_MAGIC_PROBE_LIMIT = 64 * 1024 * 1024


@dataclass
class _Global:
    verdict: Verdict
    offset: int | None = None
    sources: set[str] = field(default_factory=set)


def _library_globals(stream: IO[bytes], label: str, walk: pickle_ops.WalkResult) -> list[Global]:
    stream.seek(0)
    try:
        return list(scan_pickle_bytes(stream, label).globals)
    except Exception as exc:  # picklescan raises bare ValueErrors on crafted streams
        detail = f"picklescan could not analyse the stream: {exc}"
        walk.events.append(pickle_ops.Event("malformed", 0, detail))
        return []


def _merge_globals(walk: pickle_ops.WalkResult, stream: IO[bytes], label: str) -> dict[str, _Global]:
    merged: dict[str, _Global] = {}
    for imp in walk.imports:
        key = f"{imp.module}.{imp.name}"
        entry = merged.setdefault(key, _Global(classify(imp.module, imp.name), imp.offset))
        entry.sources.add("opcode walk")
    walk_complete = not any(event.kind == "malformed" for event in walk.events)
    for glob in _library_globals(stream, label, walk):
        key = f"{glob.module}.{glob.name}"
        dangerous = glob.safety is SafetyLevel.Dangerous
        if key not in merged and walk_complete and not dangerous:
            continue  # picklescan misread a memo reference; the complete walk is authoritative here
        entry = merged.setdefault(key, _Global(classify(glob.module, glob.name)))
        entry.sources.add("picklescan")
        if dangerous:
            entry.verdict = Verdict.DANGEROUS
    return merged


def _global_findings(merged: dict[str, _Global], location: str) -> list[Finding]:
    rule_for = {Verdict.DANGEROUS: "pickle.dangerous-global", Verdict.UNKNOWN: "pickle.unknown-global"}
    findings = []
    for name, entry in sorted(merged.items()):
        rule = rule_for.get(entry.verdict)
        if rule is None:
            continue
        where = f" at byte {entry.offset}" if entry.offset is not None else ""
        found_by = ", ".join(sorted(entry.sources))
        message = f"imports {name}{where} (found by {found_by}); unpickling may call it"
        findings.append(finding(rule, location, message))
    return findings


def _event_findings(walk: pickle_ops.WalkResult, location: str) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    findings = []
    for event in walk.events:
        if (event.kind, event.detail) in seen:
            continue
        seen.add((event.kind, event.detail))
        findings.append(finding(f"pickle.{event.kind}", location, f"{event.detail} at byte {event.offset}"))
    return findings


def scan_pickle_stream(stream: IO[bytes], location: str) -> list[Finding]:
    """Scan a seekable stream holding one or more consecutive pickles."""
    walk = pickle_ops.walk(stream)
    merged = _merge_globals(walk, stream, location)
    return _global_findings(merged, location) + _event_findings(walk, location)


def scan_pickle_file(path: Path, name: str) -> list[Finding]:
    with path.open("rb") as fh:
        if fh.read(len(SEVEN_ZIP_MAGIC)) == SEVEN_ZIP_MAGIC:
            msg = "7z-compressed archive: its pickles cannot be scanned"
            return [finding("pickle.unscannable", name, msg)]
        fh.seek(0)
        return scan_pickle_stream(fh, name)


def _is_pickle_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if info.filename.endswith(PICKLE_MEMBER_SUFFIXES):
        return True
    if info.is_dir() or "/data/" in info.filename or info.file_size > _MAGIC_PROBE_LIMIT:
        return False
    try:
        with archive.open(info) as member:
            head = member.read(2)
    except (NotImplementedError, RuntimeError, zipfile.BadZipFile, zlib.error):
        return True
    return len(head) == 2 and head[0] == 0x80 and head[1] <= 5


def _scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, location: str) -> list[Finding]:
    if info.file_size > MAX_PICKLE_MEMBER_BYTES:
        msg = f"pickle member of {info.file_size} bytes is too large"
        return [finding("pickle.unscannable", location, msg)]
    try:
        data = archive.read(info)
    except (NotImplementedError, RuntimeError, zipfile.BadZipFile, zlib.error) as exc:
        return [finding("pickle.unscannable", location, f"cannot read archive member: {exc}")]
    return scan_pickle_stream(io.BytesIO(data), location)


def scan_torch_zip(path: Path, name: str) -> list[Finding]:
    """Scan every pickle inside a PyTorch (zip) checkpoint."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [finding("pickle.unscannable", name, f"cannot open zip archive: {exc}")]
    with archive:
        findings: list[Finding] = []
        for info in archive.infolist():
            if _is_pickle_member(archive, info):
                findings.extend(_scan_member(archive, info, locate(name, info.filename)))
        return findings
