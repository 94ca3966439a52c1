"""LoRA adapters served by a local engine: how they are named, passed to the worker and asked for.

A deployment with ``adapter:`` (``DeploymentConfig.adapter``) is served by its provider's
engine processes on the one shared base model.  Each distinct (file, scale) becomes one
``AdapterSpec`` with a short id; the worker is started with ``--adapter ID SCALE PATH`` for
each, and a request for that deployment carries ``ADAPTER_HEADER: ID`` (the provider adds it;
a client cannot, since the gateway builds upstream headers itself).  No header: the base model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lockgate.errors import ConfigError

ADAPTER_HEADER = "x-lockgate-adapter"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class AdapterSpec:
    id: str
    path: str  # as configured ('~' expanded)
    scale: float
    where: str  # the config field that named it first, for error messages

    def argv(self, resolved: Path) -> list[str]:
        return ["--adapter", self.id, repr(self.scale), str(resolved)]


def adapter_id(path: str, taken: Iterable[str]) -> str:
    """A header-safe id from the file's name, unique among ``taken``."""
    stem = _UNSAFE.sub("-", Path(path).stem).strip("-.")[:48] or "adapter"
    used = set(taken)
    candidate, n = stem, 1
    while candidate in used:
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def collect_specs(named: Iterable[tuple[str, float, str]]) -> list[AdapterSpec]:
    """``(path, scale, where)`` for every deployment with an adapter, in config order -> one spec
    per distinct (path, scale); ids are stable for a given config."""
    specs: dict[tuple[str, float], AdapterSpec] = {}
    for path, scale, where in named:
        if (path, scale) not in specs:
            ident = adapter_id(path, (s.id for s in specs.values()))
            specs[(path, scale)] = AdapterSpec(ident, path, scale, where)
    return list(specs.values())


def parse_adapter_args(values: list[list[str]] | None) -> list[tuple[str, float, str]]:
    """The worker's ``--adapter ID SCALE PATH`` arguments -> ``(id, scale, path)``."""
    out: list[tuple[str, float, str]] = []
    for ident, scale, path in values or []:
        value = float(scale)
        if not 0.0 < value <= 4.0:
            raise ValueError(f"--adapter {ident}: scale {scale} is outside (0, 4]")
        out.append((ident, value, path))
    return out


def resolve_adapter(spec: AdapterSpec) -> Path:
    """The adapter's file; a ``ConfigError`` naming the field when there is none."""
    path = Path(spec.path).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"{spec.where}: adapter file {spec.path!r} does not exist")
    return path
