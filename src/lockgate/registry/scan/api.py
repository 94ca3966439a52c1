"""`scan_path`: detect each file's formats and run every plausible scanner on it.

A file is scanned as the format its name promises and as every format its bytes validate
as; all findings are kept, so the strictest scanner wins. A name that promises one format
over bytes of another, and a file that validates as two layouts at once, are findings of
their own. A parse failure reported by a scanner that only ran on speculation is dropped
when another scanner parsed the file, and a weights file that no scanner parses blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lockgate.registry.scan import detect
from lockgate.registry.scan.detect import WEIGHT_SUFFIXES, Detection
from lockgate.registry.scan.gguf_scan import scan_gguf
from lockgate.registry.scan.hf_scan import iter_files, scan_folder
from lockgate.registry.scan.model import Finding, ScanReport
from lockgate.registry.scan.msgpack_scan import scan_msgpack
from lockgate.registry.scan.pickle_scan import scan_pickle_file, scan_torch_zip
from lockgate.registry.scan.rules import finding
from lockgate.registry.scan.safetensors_scan import scan_safetensors

Scanner = Callable[[Path, str], list[Finding]]
"""A scanner takes a path and the name findings should use for it, and returns findings."""

UNSCANNED_MODEL_SUFFIXES = frozenset(
    {".h5", ".hdf5", ".keras", ".pb", ".onnx", ".npy", ".npz", ".msgpack", ".tflite", ".mlmodel", ".pdparams"}
)


def scan_unknown(path: Path, name: str) -> list[Finding]:
    """Unrecognised files: silent, except model formats this scanner does not cover."""
    if path.suffix.lower() not in UNSCANNED_MODEL_SUFFIXES:
        return []
    return [finding("file.unrecognised", name, f"{path.suffix} model files are not scanned by lockgate")]


SCANNERS: dict[str, Scanner] = {
    detect.GGUF: scan_gguf,
    detect.SAFETENSORS: scan_safetensors,
    detect.PICKLE: scan_pickle_file,
    detect.PYTORCH_ZIP: scan_torch_zip,
    detect.HF_FOLDER: scan_folder,
    detect.MSGPACK: scan_msgpack,
    detect.UNKNOWN: scan_unknown,
}


# Per format, the file-level rules that mean "these bytes are not this format".
PARSE_FAILURES: dict[str, frozenset[str]] = {
    detect.GGUF: frozenset({"gguf.malformed"}),
    detect.SAFETENSORS: frozenset(
        {"safetensors.truncated", "safetensors.header-too-large", "safetensors.header-invalid"}
    ),
    detect.PICKLE: frozenset({"pickle.malformed", "pickle.unscannable"}),
    detect.PYTORCH_ZIP: frozenset({"pickle.unscannable"}),
    detect.MSGPACK: frozenset({"msgpack.malformed", "msgpack.unscannable"}),
}


def _is_parse_failure(fmt: str, item: Finding, name: str) -> bool:
    return item.location == name and item.rule in PARSE_FAILURES.get(fmt, frozenset())


def _structure_findings(found: Detection, name: str) -> list[Finding]:
    findings = []
    if found.mismatch:
        promised = " or ".join(sorted(found.expected))
        msg = f"the name promises {promised}, but the bytes are {', '.join(found.structural)}"
        findings.append(finding("file.format-mismatch", name, msg))
    if found.polyglot:
        msg = f"the bytes are valid as {' and '.join(found.polyglot)} at once"
        if found.archive_members:
            msg += f" (archive members: {', '.join(found.archive_members[:5])})"
        findings.append(finding("file.polyglot", name, msg))
    return findings


def scan_file(path: Path, name: str) -> tuple[str, list[Finding]]:
    """Scan one file with every plausible scanner; returns (primary format, findings)."""
    found = detect.detect(path)
    findings = _structure_findings(found, name)
    results = {fmt: SCANNERS[fmt](path, name) for fmt in found.to_scan}
    parsed = {
        fmt
        for fmt, items in results.items()
        if fmt in PARSE_FAILURES and not any(_is_parse_failure(fmt, f, name) for f in items)
    }
    for fmt, items in results.items():
        speculative = fmt != found.primary and fmt not in found.expected
        if speculative and parsed and fmt not in parsed:
            items = [f for f in items if not _is_parse_failure(fmt, f, name)]
        findings.extend(items)
    failures = [f for fmt, items in results.items() for f in items if _is_parse_failure(fmt, f, name)]
    if path.suffix.lower() in WEIGHT_SUFFIXES and not parsed and not any(f.blocking for f in failures):
        tried = ", ".join(f for f in found.to_scan if f in PARSE_FAILURES) or "none"
        msg = f"no scanner could parse this {path.suffix} weights file (tried: {tried})"
        findings.append(finding("file.unparseable", name, msg))
    return found.primary, findings


def _targets(root: Path) -> list[tuple[Path, str]]:
    if root.is_file():
        return [(root, root.name)]
    return [(path, path.relative_to(root).as_posix()) for path in iter_files(root)]


def scan_path(path: str | Path) -> ScanReport:
    """Scan a model file or folder. Raises FileNotFoundError when the path does not exist."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such file or directory: {root}")
    report = ScanReport(path=str(root))
    if root.is_dir():
        report.findings.extend(SCANNERS[detect.HF_FOLDER](root, ""))
    for file, name in _targets(root):
        fmt, findings = scan_file(file, name)
        report.formats[name] = fmt
        report.findings.extend(findings)
        report.files_scanned += 1
    return report
