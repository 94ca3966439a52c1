"""`scan_path`: detect each file's format and dispatch it through the scanner registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lockgate.registry.scan import detect
from lockgate.registry.scan.detect import detect_format
from lockgate.registry.scan.gguf_scan import scan_gguf
from lockgate.registry.scan.hf_scan import iter_files, scan_folder
from lockgate.registry.scan.model import Finding, ScanReport
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
    detect.UNKNOWN: scan_unknown,
}


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
        fmt = detect_format(file)
        report.formats[name] = fmt
        report.findings.extend(SCANNERS[fmt](file, name))
        report.files_scanned += 1
    return report
