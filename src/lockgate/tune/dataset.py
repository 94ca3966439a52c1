"""The training data: OpenAI's chat fine-tuning format (``{"messages": [...]}`` per line).

Validated line by line with pydantic; problems are reported with their line numbers (the first
few, and how many in all).  The file's SHA-256 and size go into the run record, and the
held-out split is a seeded shuffle of the line numbers, so the same file and seed always
give the same split.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lockgate.tune.errors import DatasetError

MAX_REPORTED = 5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str
    name: str | None = None
    weight: Literal[0, 1] | None = None


class Example(_Strict):
    messages: list[ChatMessage] = Field(min_length=2)

    @model_validator(mode="after")
    def _shape(self) -> Example:
        if self.messages[-1].role != "assistant":
            raise ValueError("the last message must be the assistant's answer to learn")
        if not self.messages[-1].content.strip():
            raise ValueError("the last (assistant) message has empty content")
        if not any(m.role == "user" for m in self.messages):
            raise ValueError("needs at least one user message")
        return self

    def prompt(self) -> list[dict[str, Any]]:
        """The conversation up to the answer, as sent on the wire."""
        return [m.model_dump(exclude_none=True, exclude={"weight"}) for m in self.messages[:-1]]

    @property
    def answer(self) -> str:
        return self.messages[-1].content


@dataclass(frozen=True)
class Dataset:
    path: Path
    sha256: str
    size_bytes: int
    examples: list[tuple[int, Example]]  # (line number, example)

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "examples": len(self.examples),
        }


def _problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"]).removeprefix("Value error, ")


def _parse(n: int, line: str) -> Example | str:
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return f"line {n}: not valid JSON ({exc})"
    if not isinstance(raw, dict):
        return f"line {n}: each line must be a JSON object with a 'messages' list"
    try:
        return Example.model_validate(raw)
    except ValidationError as exc:
        return f"line {n}: {_problem(exc)}"


def load_dataset(path: Path) -> Dataset:
    """Read and validate every line; raise ``DatasetError`` listing the first problems by line."""
    if not path.is_file():
        raise DatasetError(f"dataset {path}: no such file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"dataset {path}: not UTF-8 (byte {exc.start})") from None
    examples: list[tuple[int, Example]] = []
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parsed = _parse(n, line)
        if isinstance(parsed, str):
            problems.append(parsed)
        else:
            examples.append((n, parsed))
    if problems:
        more = f" (+{len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        raise DatasetError(
            f"dataset {path}: {len(problems)} invalid line(s): {'; '.join(problems[:MAX_REPORTED])}{more}"
        )
    if not examples:
        raise DatasetError(f"dataset {path}: no examples (one JSON object with 'messages' per line)")
    return Dataset(path.resolve(), hashlib.sha256(data).hexdigest(), len(data), examples)


def split(dataset: Dataset, heldout: float, seed: int) -> tuple[list[int], list[int]]:
    """(training lines, held-out lines): a seeded shuffle of the line numbers, both sorted."""
    lines = [n for n, _ in dataset.examples]
    n_held = round(len(lines) * heldout)
    if n_held < 1 or n_held >= len(lines):
        raise DatasetError(
            f"dataset {dataset.path}: {len(lines)} example(s) cannot be split with heldout={heldout} "
            "(both parts need at least one example)"
        )
    shuffled = lines[:]
    random.Random(seed).shuffle(shuffled)
    return sorted(shuffled[n_held:]), sorted(shuffled[:n_held])
