"""Render the configuration reference (docs/config.md) from the pydantic schema itself, so the
documentation lists every setting and cannot drift: a test compares the file with this output.

    python -m lockgate.config.reference > docs/config.md
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from lockgate.config.schema import GatewayConfig

HEADER = """# Configuration reference

Generated from the schema by `python -m lockgate.config.reference`; a test keeps it current.
Every key is optional unless its default says *required*. Unknown keys are errors. Secrets
(`api_key`, `admin_key`, `content_key`, header values, a `storage.url` with a password) must be
written as `${ENV_VAR}` or `file:/path`. An annotated example is `examples/lockgate.yaml`.
"""


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes inside an annotation (``X``, ``X | None``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type):
        return annotation.__name__
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return str(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    if field.is_required():
        return "*required*"
    if field.default_factory is not None:
        value = field.default_factory()
        return "`{}`" if value == {} else "`[]`" if value == [] else "(see section)"
    if field.default is PydanticUndefined:
        return ""
    value = str(field.default) if isinstance(field.default, Path) else repr(field.default)
    return f"`{value}`".replace("|", "\\|")


def _section(path: str, model: type[BaseModel], seen: set[type[BaseModel]], out: list[str]) -> None:
    out += [f"\n## `{path}`\n", "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        kind = _type_name(field.annotation).replace("|", "\\|")
        doc = (field.description or "").replace("|", "\\|").replace("\n", " ")
        out.append(f"| `{name}` | {kind} | {_default(field)} | {doc} |")
        for sub in _models(field.annotation):
            if sub not in seen:
                seen.add(sub)
                key = f"{path}.{name}" if path else name
                origin = typing.get_origin(field.annotation)
                suffix = ".<name>" if origin is dict else "[]" if origin is list else ""
                nested.append((key + suffix, sub))
    for key, sub in nested:
        _section(key, sub, seen, out)


def render() -> str:
    out = [HEADER.rstrip()]
    _section("", GatewayConfig, {GatewayConfig}, out)
    return "\n".join(out).replace("\n## ``\n", "\n## top level\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
