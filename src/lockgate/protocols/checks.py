"""Request-field checks shared by the protocol adapters: every refusal names the field."""

from __future__ import annotations

from lockgate.errors import InvalidRequest
from lockgate.protocols.base import Json


def bad(message: str, param: str, code: str | None = None) -> InvalidRequest:
    """A 400 whose message starts with the field's path (``messages[2].content: …``)."""
    return InvalidRequest(f"{param}: {message}", param=param, code=code)


def number(
    body: Json, key: str, chat_key: str, chat: Json, lo: float, hi: float | None, integer: bool = False
) -> None:
    """Copy ``body[key]`` to ``chat[chat_key]`` when present, refusing a value out of range.

    JSON has one number type: an integral float such as ``1.0`` counts as an integer."""
    value = body.get(key)
    if value is None:
        return
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)
    kinds = (int,) if integer else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, kinds)
        or value < lo
        or (hi is not None and value > hi)
    ):
        what = "an integer" if integer else "a number"
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise bad(f"must be {what} {bound}.", key)
    chat[chat_key] = value
