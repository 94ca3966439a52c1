"""The strings of an OpenAI-shaped request body that a provider would read.

`text_slots(body)` yields one `TextSlot` per string, with a path for reports and a `set` to
replace the string in place (the redactor works on a copy). Which keys hold user text is
declared in `_BODY_KEYS` / `_MESSAGE_KEYS`; tool *definitions* (`tools[*]`) are the
operator's, not user data, and are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

Container = dict[str, Any] | list[Any]


class TextSlot(NamedTuple):  # a tuple: made for every string of every request, cheaply
    path: str
    container: Container
    key: Any  # str for a dict, int for a list

    @property
    def text(self) -> str:
        value: str = self.container[self.key]
        return value

    def set(self, value: str) -> None:
        self.container[self.key] = value


# Each walker appends the slots of `parent[key]` (a value known to be there) to `out`.
Walker = Callable[[Container, Any, str, list[TextSlot]], None]


def _string(parent: Container, key: Any, path: str, out: list[TextSlot]) -> None:
    if isinstance(parent[key], str):
        out.append(TextSlot(path, parent, key))


def _strings(parent: Container, key: Any, path: str, out: list[TextSlot]) -> None:
    """A string, or a list whose string items are each scanned (prompt, input)."""
    value = parent[key]
    if isinstance(value, str):
        out.append(TextSlot(path, parent, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(TextSlot(f"{path}[{i}]", value, i))
            elif isinstance(item, dict):  # Responses-style input items look like messages
                _walk(item, _MESSAGE_KEYS, f"{path}[{i}]", out)


def _content(parent: Container, key: Any, path: str, out: list[TextSlot]) -> None:
    """Message content: a string, or a list of parts where text parts carry `text`."""
    value = parent[key]
    if isinstance(value, str):
        out.append(TextSlot(path, parent, key))
    elif isinstance(value, list):
        for i, part in enumerate(value):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(TextSlot(f"{path}[{i}].text", part, "text"))


def _tool_calls(parent: Container, key: Any, path: str, out: list[TextSlot]) -> None:
    calls = parent[key]
    if not isinstance(calls, list):
        return
    for i, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and "arguments" in function:
            _string(function, "arguments", f"{path}[{i}].function.arguments", out)


def _function_call(parent: Container, key: Any, path: str, out: list[TextSlot]) -> None:
    call = parent[key]
    if isinstance(call, dict) and "arguments" in call:
        _string(call, "arguments", f"{path}.arguments", out)


def _messages(parent: Container, key: Any, path: str, out: list[TextSlot]) -> None:
    messages = parent[key]
    if isinstance(messages, list):
        for i, message in enumerate(messages):
            if isinstance(message, dict):
                _walk(message, _MESSAGE_KEYS, f"{path}[{i}]", out)


_MESSAGE_KEYS: dict[str, Walker] = {
    "content": _content,
    "tool_calls": _tool_calls,
    "function_call": _function_call,
}

_BODY_KEYS: dict[str, Walker] = {
    "messages": _messages,
    "prompt": _strings,
    "input": _strings,
    "instructions": _string,
    "suffix": _string,
}


def _walk(obj: dict[str, Any], keys: dict[str, Walker], path: str, out: list[TextSlot]) -> None:
    for key, walker in keys.items():
        if key in obj:
            walker(obj, key, f"{path}.{key}" if path else key, out)


def text_slots(body: dict[str, Any]) -> list[TextSlot]:
    """Every string of `body` a provider would read, in the order of `_BODY_KEYS`."""
    out: list[TextSlot] = []
    _walk(body, _BODY_KEYS, "", out)
    return out
