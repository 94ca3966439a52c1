"""Evaluation suites: YAML or JSONL files of chat items, validated with pydantic.

A YAML suite is a mapping::

    name: arithmetic
    about: {measures: "...", limits: "..."}     # optional, shown in the report
    defaults: {scorer: normalised, params: {temperature: 0, max_tokens: 64}, tags: [basic]}
    prices: {smollm2: {input: 0.0, output: 0.0}} # per 1M tokens, optional
    items:
      - id: add-1
        prompt: "What is 2 + 3? Answer with a number."
        expected: 5
        scorer: numeric                          # or {name: numeric, tolerance: 0.01}
        tags: [math]

A JSONL suite holds one item per line; its name is the file stem.  Every error is one line
naming the file, the item (id or line) and the field.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class SuiteError(ValueError):
    """A suite file that cannot be used; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(_Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def wire(self) -> dict[str, Any]:
        # "content" is always sent ("" for a tool-call-only assistant turn): many chat templates
        # (SmolLM2's among them) concatenate message['content'] and fail on a null or missing one.
        return self.model_dump(exclude_none=True) | {"content": self.content or ""}


class GenParams(_Strict):
    """Sampling parameters sent with each request."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    seed: int | None = None
    stop: list[str] | None = None

    def merged(self, other: GenParams | None) -> GenParams:
        """``other`` wins where it sets a value."""
        if other is None:
            return self
        return GenParams(**{**self.model_dump(exclude_none=True), **other.model_dump(exclude_none=True)})


class ScorerSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


def _as_scorer_spec(value: Any) -> Any:
    """Accept ``"regex"`` or ``{name: regex, pattern: ...}`` (params inline or under ``params``)."""
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict) and "params" not in value and "name" in value:
        rest = {k: v for k, v in value.items() if k != "name"}
        return {"name": value["name"], "params": rest}
    return value


class Item(_Strict):
    id: str = Field(min_length=1)
    messages: list[Message] | None = None
    prompt: str | None = None
    tools: list[dict[str, Any]] | None = None
    expected: Any = None
    tags: list[str] = Field(default_factory=list)
    scorer: ScorerSpec | None = None
    params: GenParams | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _scorer_shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and "scorer" in data:
            data = {**data, "scorer": _as_scorer_spec(data["scorer"])}
        return data

    @model_validator(mode="after")
    def _one_input(self) -> Item:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give exactly one of 'messages' or 'prompt'")
        if self.messages is not None and not any(m.role == "user" for m in self.messages):
            raise ValueError("'messages' needs at least one user message")
        return self

    def chat(self, system: str | None = None) -> list[dict[str, Any]]:
        """The messages to send, with the suite-level system prompt when the item has none."""
        msgs = (
            [m.wire() for m in self.messages] if self.messages else [{"role": "user", "content": self.prompt}]
        )
        if system and not any(m["role"] == "system" for m in msgs):
            msgs.insert(0, {"role": "system", "content": system})
        return msgs


class Price(_Strict):
    """Price per 1,000,000 tokens, in the suite's currency."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class Defaults(_Strict):
    scorer: ScorerSpec | None = None
    params: GenParams = Field(default_factory=GenParams)
    tags: list[str] = Field(default_factory=list)
    system: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _scorer_shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and "scorer" in data:
            data = {**data, "scorer": _as_scorer_spec(data["scorer"])}
        return data


class About(_Strict):
    measures: str = ""
    limits: str = ""
    scoring: str = ""


class Suite(_Strict):
    name: str
    description: str = ""
    about: About = Field(default_factory=About)
    defaults: Defaults = Field(default_factory=Defaults)
    prices: dict[str, Price] = Field(default_factory=dict)
    currency: str = "EUR"
    items: list[Item] = Field(default_factory=list)

    def scorer_for(self, item: Item) -> ScorerSpec:
        spec = item.scorer or self.defaults.scorer
        return spec if spec is not None else ScorerSpec(name="normalised")

    def params_for(self, item: Item) -> GenParams:
        return self.defaults.params.merged(item.params)

    def tags_for(self, item: Item) -> list[str]:
        return sorted({*self.defaults.tags, *item.tags})

    def messages_for(self, item: Item) -> list[dict[str, Any]]:
        return item.chat(self.defaults.system)

    def select(self, tags: list[str] | None = None, sample: int | None = None, seed: int = 0) -> Suite:
        """Items carrying any of ``tags``, then a seeded sample of ``sample`` of them (order kept)."""
        chosen = [i for i in self.items if not tags or set(tags) & set(self.tags_for(i))]
        if sample is not None and sample < len(chosen):
            picked = set(random.Random(seed).sample(range(len(chosen)), sample))
            chosen = [item for n, item in enumerate(chosen) if n in picked]
        return self.model_copy(update={"items": chosen})


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(item)"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"field '{loc}': {err['msg']}{more}"


def _item(raw: Any, where: str) -> Item:
    label = f"item '{raw['id']}'" if isinstance(raw, dict) and raw.get("id") else "item"
    try:
        return Item.model_validate(raw)
    except ValidationError as exc:
        raise SuiteError(f"{where} ({label}): {_first_error(exc)}") from None


def _check_ids(items: list[Item], where: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise SuiteError(f"{where}: item id '{item.id}' is used twice; ids must be unique")
        seen.add(item.id)


def _load_yaml(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuiteError(f"{path}{where}: not valid YAML ({problem})") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise SuiteError(f"{path}: a YAML suite is a mapping with an 'items' list")
    items = [_item(raw, f"{path} item #{n + 1}") for n, raw in enumerate(data["items"])]
    head = {k: v for k, v in data.items() if k != "items"}
    head.setdefault("name", path.stem)
    try:
        suite = Suite.model_validate({**head, "items": []})
    except ValidationError as exc:
        raise SuiteError(f"{path} (suite header): {_first_error(exc)}") from None
    return suite.model_copy(update={"items": items})


def _load_jsonl(path: Path) -> Suite:
    items: list[Item] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise SuiteError(f"{path} line {n}: not valid JSON ({exc})") from None
        items.append(_item(raw, f"{path} line {n}"))
    return Suite(name=path.stem, items=items)


LOADERS = {".yaml": _load_yaml, ".yml": _load_yaml, ".jsonl": _load_jsonl}


def load_suite(path: Path) -> Suite:
    """Load and validate a suite file; raises ``SuiteError`` with a one-line message."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise SuiteError(f"{path}: suite files end in .yaml, .yml or .jsonl")
    if not path.is_file():
        raise SuiteError(f"{path}: no such suite file")
    suite = loader(path)
    if not suite.items:
        raise SuiteError(f"{path}: the suite has no items")
    _check_ids(suite.items, str(path))
    return suite
