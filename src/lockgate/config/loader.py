"""Load ``lockgate.yaml``: parse, resolve secret indirections, validate once at start-up.

Secrets never live in the file.  A secret-bearing field (``api_key``, ``admin_key``,
``content_key``, header values, ``storage.url``) must be written as ``${ENV_VAR}`` or
``file:/path/to/secret``; a literal value is rejected with the field's path.  ``${VAR}`` may
also appear inside any other string (e.g. a base URL).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_KEYS = frozenset({"api_key", "admin_key", "content_key"})


def _is_secret_path(path: tuple[str, ...]) -> bool:
    if not path:
        return False
    if path[-1] in _SECRET_KEYS:
        return True
    if len(path) >= 2 and path[-2] == "headers":
        return True
    return path[-2:] == ("storage", "url")


def _fmt(path: tuple[str, ...]) -> str:
    return ".".join(path) or "<root>"


def _resolve_string(value: str, path: tuple[str, ...], source: str, base_dir: Path) -> str:
    secret = _is_secret_path(path)
    if value.startswith("file:"):
        target = Path(value[5:]).expanduser()
        if not target.is_absolute():
            target = base_dir / target
        try:
            return target.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{source}: {_fmt(path)}: cannot read secret file {str(target)!r} ({exc.strerror})"
            ) from None
    if secret and value and not _ENV_REF.search(value) and not _storage_url_without_password(path, value):
        raise ConfigError(
            f"{source}: {_fmt(path)}: secrets must not be written into the config; "
            "use ${ENV_VAR} or file:/path/to/secret"
        )

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        got = os.environ.get(name)
        if got is None:
            if default is not None:
                return default
            raise ConfigError(f"{source}: {_fmt(path)}: environment variable {name} is not set")
        return got

    return _ENV_REF.sub(sub, value)


def _storage_url_without_password(path: tuple[str, ...], value: str) -> bool:
    """A storage URL may be literal when it carries no password (sqlite, peer auth)."""
    if path[-2:] != ("storage", "url"):
        return False
    return re.match(r"^[a-z0-9+]+://[^/@:]*(@|/)", value) is not None or value.startswith("sqlite")


def _resolve(node: Any, path: tuple[str, ...], source: str, base_dir: Path) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _resolve(v, (*path, str(k)), source, base_dir) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, (*path, str(i)), source, base_dir) for i, v in enumerate(node)]
    if isinstance(node, str):
        return _resolve_string(node, path, source, base_dir)
    return node


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err.get("type") == "extra_forbidden":
        msg = "unknown field (check the spelling against the config reference)"
    inp = err.get("input")
    shown = ""
    if err.get("type") not in ("extra_forbidden", "missing") and not isinstance(inp, (dict, list)):
        shown = f" (got {inp!r})" if not _is_secret_path(tuple(str(p) for p in err.get("loc", ()))) else ""
    return f"{loc or '<root>'}: {msg}{shown}"


def parse_config(data: Any, source: str = "<config>", base_dir: Path | None = None) -> GatewayConfig:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {type(data).__name__}")
    # a section written with only comments under it parses as None: treat it as empty
    data = {k: v for k, v in data.items() if v is not None}
    resolved = _resolve(data, (), source, base_dir or Path.cwd())
    try:
        return GatewayConfig.model_validate(resolved)
    except ValidationError as exc:
        lines = [f"{source}: invalid configuration:"]
        lines.extend(f"  {_describe(dict(e))}" for e in exc.errors())
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path) -> GatewayConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{file}: YAML syntax error{where}: {problem}") from None
    return parse_config(data, str(file), file.parent.resolve())


def default_config() -> GatewayConfig:
    """The out-of-the-box deployment: the bundled SmolLM2 on a supervised llama.cpp engine."""
    return parse_config(
        {
            "providers": {
                "local": {
                    "kind": "llamacpp",
                    "engine": {"model": "bundled:smollm2"},
                    "facts": {"self_hosted": True},
                }
            },
            "models": {
                "smollm2": {
                    "description": "SmolLM2-135M-Instruct (Apache-2.0), bundled",
                    "deployments": [{"provider": "local", "model": "smollm2"}],
                }
            },
        },
        "<built-in default>",
    )
