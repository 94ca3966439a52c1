"""Resolve what ``lockgate models add`` was given: a file, a directory, or an installed package."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from lockgate.registry.errors import TargetError

MODEL_SUFFIXES = frozenset({".gguf", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})


def resolve_target(target: str) -> Path:
    path = Path(target).expanduser()
    if path.exists():
        return path.resolve()
    files = _package_files(target)
    if files is None:
        raise TargetError(
            f"{target!r} is neither an existing file or directory nor an installed Python package"
        )
    models = sorted(p for p in files if p.suffix.lower() in MODEL_SUFFIXES and p.is_file())
    if not models:
        raise TargetError(
            f"installed package {target!r} contains no model file ({', '.join(MODEL_SUFFIXES)})"
        )
    return _pick(target, models)


def _pick(target: str, models: list[Path]) -> Path:
    if len(models) == 1:
        return models[0].resolve()
    folders = {p.parent for p in models}
    if len(folders) == 1 and (next(iter(folders)) / "config.json").is_file():
        return next(iter(folders)).resolve()
    listed = ", ".join(str(p) for p in models[:5])
    raise TargetError(f"installed package {target!r} holds several model files; pass one as TARGET: {listed}")


def _package_files(name: str) -> list[Path] | None:
    """Files of an installed distribution (by its pip name) or of an importable package."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None and dist.files:
        return [Path(str(dist.locate_file(f))) for f in dist.files]
    try:
        spec = importlib.util.find_spec(name.replace("-", "_"))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return [p for loc in spec.submodule_search_locations for p in Path(loc).rglob("*")]
