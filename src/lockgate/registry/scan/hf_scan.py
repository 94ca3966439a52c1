"""Folder-level checks for Hugging Face style model directories.

Per-file content (pickles, safetensors, GGUF) is scanned by the format scanners; this module
looks at what only makes sense for a folder: `auto_map` and custom Python that need
`trust_remote_code`, unexpected executables, and chat templates kept in
`tokenizer_config.json`, `chat_template.json` or `*.jinja` files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lockgate.registry.scan.model import Finding, locate
from lockgate.registry.scan.rules import finding
from lockgate.registry.scan.template_scan import scan_template

SKIPPED_DIRS = frozenset({".git", ".cache", "__pycache__"})
MAX_JSON_BYTES = 16 * 1024 * 1024
EXECUTABLE_SUFFIXES = frozenset(
    {".so", ".dll", ".dylib", ".exe", ".sh", ".bash", ".bat", ".cmd", ".ps1", ".com", ".msi"}
)
# ELF, Mach-O (32/64-bit, universal), shebang. PE ("MZ") is left to the suffix list: two bytes
# match too many data files.
EXECUTABLE_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
TEMPLATE_JSON_FILES = frozenset({"tokenizer_config.json", "chat_template.json", "processor_config.json"})


def iter_files(root: Path) -> Iterator[Path]:
    """Every regular file under root, sorted, skipping VCS and cache folders."""
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for file in sorted(files):
            path = Path(directory, file)
            if path.is_file():
                yield path


def _load_json(path: Path, rel: str) -> tuple[Any, list[Finding]]:
    if path.stat().st_size > MAX_JSON_BYTES:
        return None, []
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [finding("hf.bad-json", rel, str(exc))]


def _auto_map_findings(data: Any, rel: str) -> list[Finding]:
    auto_map = data.get("auto_map") if isinstance(data, dict) else None
    if not auto_map:
        return []
    pairs = auto_map.items() if isinstance(auto_map, dict) else [("entry", auto_map)]
    targets = ", ".join(f"{key} -> {value}" for key, value in pairs)
    msg = f"auto_map makes loaders import repository code ({targets})"
    return [finding("hf.remote-code", locate(rel, "auto_map"), msg)]


def _template_findings(data: Any, rel: str) -> list[Finding]:
    template = data.get("chat_template") if isinstance(data, dict) else None
    if isinstance(template, list):
        findings = []
        for entry in template:
            named = entry if isinstance(entry, dict) else {}
            key = f"chat_template.{named.get('name', '?')}"
            findings.extend(scan_template(named.get("template"), locate(rel, key)))
        return findings
    return scan_template(template, locate(rel, "chat_template")) if template is not None else []


def _json_findings(path: Path, rel: str) -> list[Finding]:
    data, findings = _load_json(path, rel)
    findings.extend(_auto_map_findings(data, rel))
    if path.name in TEMPLATE_JSON_FILES:
        findings.extend(_template_findings(data, rel))
    return findings


def _is_executable(path: Path) -> str | None:
    if path.suffix.lower() in EXECUTABLE_SUFFIXES:
        return f"{path.suffix} file"
    with path.open("rb") as fh:
        head = fh.read(4)
    magic = next((m for m in EXECUTABLE_MAGIC if head.startswith(m)), None)
    if magic is not None:
        return "script with a shebang line" if magic == b"#!" else "native executable or library"
    return "file with the executable bit set" if os.access(path, os.X_OK) else None


def _file_findings(path: Path, rel: str) -> list[Finding]:
    findings: list[Finding] = []
    if path.suffix == ".py":
        msg = "custom Python code runs when the model is loaded with trust_remote_code"
        findings.append(finding("hf.remote-code", rel, msg))
    elif (kind := _is_executable(path)) is not None:
        findings.append(finding("hf.executable", rel, f"unexpected {kind}"))
    if path.suffix == ".json":
        findings.extend(_json_findings(path, rel))
    elif path.suffix == ".jinja":
        findings.extend(scan_template(path.read_text(encoding="utf-8", errors="replace"), rel))
    return findings


def scan_folder(root: Path, name: str) -> list[Finding]:
    """Folder-level findings; locations are paths relative to root, under `name` if given."""
    findings: list[Finding] = []
    for path in iter_files(root):
        rel = path.relative_to(root).as_posix()
        findings.extend(_file_findings(path, f"{name}/{rel}" if name else rel))
    return findings
