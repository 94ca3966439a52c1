"""The strings of an OpenAI-shaped request body that a provider would read.

`text_slots(body)` yields one `TextSlot` per string, with a path for reports and a `set` to
replace the string in place (the redactor works on a copy). Which keys hold user text is
declared in `_BODY_KEYS` / `_MESSAGE_KEYS`; tool *definitions* (`tools[*]`) are the
operator's, not user data, and are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Container = dict[str, Any] | list[Any]


@dataclass(frozen=True, slots=True)
class TextSlot:
    path: str
    container: Container
    key: Any  # str for a dict, int for a list

    @property
    def text(self) -> str:
        value: str = self.container[self.key]
        return value

    def set(self, value: str) -> None:
        self.container[self.key] = value


Walker = Callable[[Container, Any, str], Iterator[TextSlot]]


def _string(parent: Container, key: Any, path: str) -> Iterator[TextSlot]:
    if isinstance(parent[key], str):
        yield TextSlot(path, parent, key)


def _strings(parent: Container, key: Any, path: str) -> Iterator[TextSlot]:
    """A string, or a list whose string items are each scanned (prompt, input)."""
    value = parent[key]
    if isinstance(value, str):
        yield TextSlot(path, parent, key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield TextSlot(f"{path}[{i}]", value, i)
            elif isinstance(item, dict):  # Responses-style input items look like messages
                yield from _message(item, f"{path}[{i}]")


def _content(parent: Container, key: Any, path: str) -> Iterator[TextSlot]:
    """Message content: a string, or a list of parts where text parts carry `text`."""
    value = parent[key]
    if isinstance(value, str):
        yield TextSlot(path, parent, key)
    elif isinstance(value, list):
        for i, part in enumerate(value):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield TextSlot(f"{path}[{i}].text", part, "text")


def _tool_calls(parent: Container, key: Any, path: str) -> Iterator[TextSlot]:
    calls = parent[key]
    if not isinstance(calls, list):
        return
    for i, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and "arguments" in function:
            yield from _string(function, "arguments", f"{path}[{i}].function.arguments")


def _function_call(parent: Container, key: Any, path: str) -> Iterator[TextSlot]:
    call = parent[key]
    if isinstance(call, dict) and "arguments" in call:
        yield from _string(call, "arguments", f"{path}.arguments")


def _messages(parent: Container, key: Any, path: str) -> Iterator[TextSlot]:
    messages = parent[key]
    if isinstance(messages, list):
        for i, message in enumerate(messages):
            if isinstance(message, dict):
                yield from _message(message, f"{path}[{i}]")


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


def _walk(obj: dict[str, Any], keys: dict[str, Walker], path: str) -> Iterator[TextSlot]:
    for key, walker in keys.items():
        if key in obj:
            yield from walker(obj, key, f"{path}.{key}" if path else key)


def _message(message: dict[str, Any], path: str) -> Iterator[TextSlot]:
    yield from _walk(message, _MESSAGE_KEYS, path)


def text_slots(body: dict[str, Any]) -> Iterator[TextSlot]:
    yield from _walk(body, _BODY_KEYS, "")
