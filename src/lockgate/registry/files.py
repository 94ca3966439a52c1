"""Pinned file manifests: hash every file of an artifact and compare a manifest with the disk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1024 * 1024
_SKIP_DIRS = frozenset({".git", "__pycache__", ".cache"})


@dataclass(frozen=True)
class FileEntry:
    relpath: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ManifestDiff:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def describe(self) -> str:
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (("changed", self.changed), ("missing", self.missing), ("extra", self.extra))
            if names
        ]
        return "; ".join(parts) or "unchanged"


def sha256_file(path: Path) -> str:
    """SHA-256 of a file read in 1 MiB chunks (model files are gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def list_files(root: Path) -> dict[str, Path]:
    """The files an artifact consists of, keyed by their path relative to the artifact."""
    if root.is_file():
        return {root.name: root}
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS for part in rel.parts) or not path.is_file():
            continue
        found[rel.as_posix()] = path
    return found


def build_manifest(root: Path) -> list[FileEntry]:
    return [
        FileEntry(relpath=rel, sha256=sha256_file(path), size=path.stat().st_size)
        for rel, path in list_files(root).items()
    ]


def compare(recorded: list[FileEntry], root: Path) -> ManifestDiff:
    """Re-hash what is on disk and say which recorded files changed, vanished or were added."""
    if not root.exists():
        return ManifestDiff(missing=[entry.relpath for entry in recorded])
    on_disk = list_files(root)
    pinned = {entry.relpath: entry for entry in recorded}
    changed = [
        rel
        for rel, entry in pinned.items()
        if rel in on_disk
        and (on_disk[rel].stat().st_size != entry.size or sha256_file(on_disk[rel]) != entry.sha256)
    ]
    return ManifestDiff(
        changed=changed,
        missing=[rel for rel in pinned if rel not in on_disk],
        extra=[rel for rel in on_disk if rel not in pinned],
    )
