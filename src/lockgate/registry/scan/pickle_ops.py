"""A symbolic walk over pickle opcodes that records imports and calls without unpickling.

It keeps an abstract stack and memo, so names that reach STACK_GLOBAL through
PUT/GET/MEMOIZE/DUP are resolved to the strings they really are, INST/OBJ/NEWOBJ/REDUCE
calls are attributed to their callable, and calls on computed values (the result of
`getattr(...)`, say) are reported instead of being silently ignored.
"""

from __future__ import annotations

import pickletools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

_STRING_OPS = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
     "BINBYTES", "SHORT_BINBYTES", "BINBYTES8"}
)  # fmt: skip
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_EXT_OPS = frozenset({"EXT1", "EXT2", "EXT4"})


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Glob:
    module: str
    name: str


@dataclass(frozen=True)
class Opaque:
    origin: str


class _Mark:
    pass


MARK = _Mark()
Value = Str | Glob | Opaque | _Mark


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    offset: int
    opcode: str


@dataclass(frozen=True)
class Event:
    """Something suspicious that is not a plain import: kind is 'dynamic-global',
    'indirect-call' or 'malformed'."""

    kind: str
    offset: int
    detail: str


@dataclass
class WalkResult:
    imports: list[Import] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    opcodes: int = 0


@dataclass
class _Machine:
    result: WalkResult
    stack: list[Value] = field(default_factory=list)
    memo: dict[int, Value] = field(default_factory=dict)
    pos: int = 0

    def pop(self) -> Value:
        return self.stack.pop() if self.stack else Opaque("stack underflow")

    def pop_to_mark(self) -> list[Value]:
        items: list[Value] = []
        while self.stack:
            top = self.stack.pop()
            if top is MARK:
                return items[::-1]
            items.append(top)
        return items[::-1]

    def imported(self, module: str, name: str, opcode: str) -> Glob:
        self.result.imports.append(Import(module, name, self.pos, opcode))
        return Glob(module, name)

    def call(self, callee: Value, opcode: str) -> None:
        if not isinstance(callee, Glob):
            self.result.events.append(Event("indirect-call", self.pos, f"{opcode} on {_describe(callee)}"))
        self.stack.append(Opaque(f"result of {_describe(callee)}"))


def _describe(value: Value) -> str:
    if isinstance(value, Glob):
        return f"{value.module}.{value.name}"
    if isinstance(value, Str):
        return f"string {value.value!r}"
    if isinstance(value, Opaque):
        return value.origin
    return "a mark"


def _split_global(arg: Any) -> tuple[str, str]:
    module, _, name = str(arg).partition(" ")
    return module, name


def _op_global(m: _Machine, arg: Any, op: str) -> None:
    m.stack.append(m.imported(*_split_global(arg), op))


def _op_stack_global(m: _Machine, arg: Any, op: str) -> None:
    name, module = m.pop(), m.pop()
    if isinstance(module, Str) and isinstance(name, Str):
        m.stack.append(m.imported(module.value, name.value, op))
        return
    detail = f"module from {_describe(module)}, name from {_describe(name)}"
    m.result.events.append(Event("dynamic-global", m.pos, detail))
    m.stack.append(Opaque("dynamically imported global"))


def _op_inst(m: _Machine, arg: Any, op: str) -> None:
    m.pop_to_mark()
    m.call(m.imported(*_split_global(arg), op), op)


def _op_obj(m: _Machine, arg: Any, op: str) -> None:
    items = m.pop_to_mark()
    m.call(items[0] if items else Opaque("nothing"), op)


def _op_reduce(m: _Machine, arg: Any, op: str) -> None:
    m.pop()
    m.call(m.pop(), op)


def _op_newobj(m: _Machine, arg: Any, op: str) -> None:
    for _ in range(2 if op == "NEWOBJ_EX" else 1):
        m.pop()
    m.call(m.pop(), op)


def _op_ext(m: _Machine, arg: Any, op: str) -> None:
    m.result.events.append(Event("dynamic-global", m.pos, f"{op} extension code {arg}"))
    m.stack.append(Opaque(f"extension {arg}"))


def _op_string(m: _Machine, arg: Any, op: str) -> None:
    text = arg.decode("latin-1") if isinstance(arg, bytes | bytearray) else str(arg)
    m.stack.append(Str(text))


def _op_put(m: _Machine, arg: Any, op: str) -> None:
    m.memo[int(arg)] = m.stack[-1] if m.stack else Opaque("empty stack")


def _op_memoize(m: _Machine, arg: Any, op: str) -> None:
    m.memo[len(m.memo)] = m.stack[-1] if m.stack else Opaque("empty stack")


def _op_get(m: _Machine, arg: Any, op: str) -> None:
    m.stack.append(m.memo.get(int(arg), Opaque(f"missing memo {arg}")))


def _op_dup(m: _Machine, arg: Any, op: str) -> None:
    m.stack.append(m.stack[-1] if m.stack else Opaque("empty stack"))


def _op_mark(m: _Machine, arg: Any, op: str) -> None:
    m.stack.append(MARK)


Handler = Callable[[_Machine, Any, str], None]
_HANDLERS: dict[str, Handler] = {
    "GLOBAL": _op_global,
    "STACK_GLOBAL": _op_stack_global,
    "INST": _op_inst,
    "OBJ": _op_obj,
    "REDUCE": _op_reduce,
    "NEWOBJ": _op_newobj,
    "NEWOBJ_EX": _op_newobj,
    "MEMOIZE": _op_memoize,
    "DUP": _op_dup,
    "MARK": _op_mark,
    **dict.fromkeys(_EXT_OPS, _op_ext),
    **dict.fromkeys(_STRING_OPS, _op_string),
    **dict.fromkeys(_PUT_OPS, _op_put),
    **dict.fromkeys(_GET_OPS, _op_get),
}


def _generic(m: _Machine, opcode: pickletools.OpcodeInfo) -> None:
    """Apply an opcode's documented stack effect with opaque values."""
    before = opcode.stack_before
    if pickletools.markobject in before:
        m.pop_to_mark()
        before = before[: before.index(pickletools.markobject)]
    for _ in before:
        m.pop()
    m.stack.extend(Opaque(f"{opcode.name} value") for _ in opcode.stack_after)


def _ops(stream: IO[bytes]) -> Iterator[tuple[pickletools.OpcodeInfo, Any, int | None]]:
    yield from pickletools.genops(stream)


def walk_one(stream: IO[bytes], result: WalkResult) -> bool:
    """Walk one pickle from the stream's position. Returns True when it ended with STOP."""
    machine = _Machine(result)
    try:
        for opcode, arg, pos in _ops(stream):
            machine.pos = pos or 0
            result.opcodes += 1
            handler = _HANDLERS.get(opcode.name)
            if handler is None:
                _generic(machine, opcode)
            else:
                handler(machine, arg, opcode.name)
    except (ValueError, EOFError, KeyError, IndexError, UnicodeDecodeError) as exc:
        result.events.append(Event("malformed", machine.pos, str(exc) or type(exc).__name__))
        return False
    return True


def walk(stream: IO[bytes], max_pickles: int = 16) -> WalkResult:
    """Walk consecutive pickles (legacy torch files hold several) until data stops parsing.

    A later pickle that fails before importing or calling anything is taken to be raw
    tensor data, not an error.
    """
    result = WalkResult()
    for index in range(max_pickles):
        start = stream.tell()
        if not stream.read(1):
            break
        stream.seek(start)
        seen = (len(result.imports), len(result.events))
        if not walk_one(stream, result):
            if index > 0 and seen == (len(result.imports), len(result.events) - 1):
                result.events.pop()
            break
    return result
