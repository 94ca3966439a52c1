"""Scorers: one class per way of grading an answer, found by name in ``SCORERS``.

Every scorer returns a ``Score`` between 0 and 1 plus a ``detail`` dict that is kept in the
results (why it passed or failed).  Parameters are a pydantic model per scorer
(``extra="forbid"``), validated when the suite is loaded so a typo fails before any request.

Text scorers live here; ``judge`` (LLM-as-judge) is in ``judge.py``, ``json_fields`` in ``fields.py``, and the audit-pack
scorers (``refusal``, ``one_sided``, ``contains_none``, ``exfiltration``) in ``audit.py``.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from abc import ABC
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jsonschema
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lockgate.eval.suite import Suite


class ScorerConfigError(ValueError):
    """Bad scorer name, parameters or expected value (one-line message)."""


@dataclass(slots=True)
class Answer:
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "arguments"}]


JudgeFn = Callable[[list[dict[str, Any]]], Awaitable[str]]


@dataclass(slots=True)
class ScoreInput:
    answer: Answer
    messages: list[dict[str, Any]]  # what the model was asked
    judge: JudgeFn | None = None  # calls the judge model; None when no judge is configured


@dataclass(slots=True)
class Score:
    value: float | None  # 0..1; None when the answer could not be graded (counted as a failure)
    detail: dict[str, Any] = field(default_factory=dict)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scorer(ABC):
    """Grades one answer.  Subclasses set ``name``, ``Params`` and implement ``grade``."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    needs_expected: ClassVar[bool] = True
    binary: ClassVar[bool] = True  # scores are 0 or 1 (Wilson interval) rather than continuous

    def __init__(self, params: dict[str, Any], expected: Any) -> None:
        try:
            self.params = self.Params.model_validate(params)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ScorerConfigError(f"scorer '{self.name}' parameter '{loc}': {err['msg']}") from None
        if self.needs_expected and expected is None:
            raise ScorerConfigError(f"scorer '{self.name}' needs an 'expected' value")
        self.expected = expected
        self.setup()

    def setup(self) -> None:  # noqa: B027 - optional hook, most scorers need no extra checks
        """Check params/expected further (raise ``ScorerConfigError``)."""

    async def score(self, inp: ScoreInput) -> Score:
        return self.grade(inp.answer)

    def grade(self, answer: Answer) -> Score:
        raise NotImplementedError(f"scorer '{self.name}' grades asynchronously")


SCORERS: dict[str, type[Scorer]] = {}
_PLUGIN_MODULES = ("lockgate.eval.judge", "lockgate.eval.audit", "lockgate.eval.fields")


def register(cls: type[Scorer]) -> type[Scorer]:
    SCORERS[cls.name] = cls
    return cls


def scorer_names() -> list[str]:
    for mod in _PLUGIN_MODULES:
        importlib.import_module(mod)
    return sorted(SCORERS)


def build_scorer(name: str, params: dict[str, Any], expected: Any) -> Scorer:
    names = scorer_names()
    cls = SCORERS.get(name)
    if cls is None:
        raise ScorerConfigError(f"unknown scorer '{name}'; choose one of: {', '.join(names)}")
    return cls(params, expected)


def build_scorers(suite: Suite) -> dict[str, Scorer]:
    """One scorer per item id; raises ``ScorerConfigError`` naming the item."""
    out: dict[str, Scorer] = {}
    for item in suite.items:
        spec = suite.scorer_for(item)
        try:
            out[item.id] = build_scorer(spec.name, spec.params, item.expected)
        except ScorerConfigError as exc:
            raise ScorerConfigError(f"suite '{suite.name}' item '{item.id}': {exc}") from None
    return out


def _options(expected: Any) -> list[str]:
    return [str(e) for e in expected] if isinstance(expected, list) else [str(expected)]


def normalise(text: str) -> str:
    """Case-fold, NFKC, drop punctuation and symbols, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join(kept.split())


@register
class Exact(Scorer):
    """The stripped answer equals ``expected`` (or one of a list)."""

    name = "exact"

    def grade(self, answer: Answer) -> Score:
        got = answer.text.strip()
        return Score(float(got in _options(self.expected)), {"answer": got})


@register
class Normalised(Scorer):
    """Equal after ``normalise`` (case, whitespace, punctuation)."""

    name = "normalised"

    def grade(self, answer: Answer) -> Score:
        got = normalise(answer.text)
        return Score(float(got in {normalise(o) for o in _options(self.expected)}), {"normalised": got})


class RegexParams(NoParams):
    pattern: str | None = None
    ignore_case: bool = True


@register
class Regex(Scorer):
    """``re.search`` of ``pattern`` (or of ``expected``) in the answer."""

    name = "regex"
    Params = RegexParams
    needs_expected = False

    def setup(self) -> None:
        assert isinstance(self.params, RegexParams)
        source = self.params.pattern if self.params.pattern is not None else self.expected
        if source is None:
            raise ScorerConfigError("scorer 'regex' needs 'pattern' or an 'expected' pattern")
        try:
            self.rx = re.compile(str(source), re.IGNORECASE if self.params.ignore_case else 0)
        except re.error as exc:
            raise ScorerConfigError(
                f"scorer 'regex' pattern {source!r} is not a valid regex: {exc}"
            ) from None

    def grade(self, answer: Answer) -> Score:
        m = self.rx.search(answer.text)
        return Score(float(m is not None), {"match": m.group(0) if m else None})


class ContainsParams(NoParams):
    case_sensitive: bool = False


class _Contains(Scorer):
    Params = ContainsParams
    need_all: ClassVar[bool]

    def setup(self) -> None:
        if not isinstance(self.expected, list) or not self.expected:
            raise ScorerConfigError(f"scorer '{self.name}' needs 'expected' as a non-empty list of strings")

    def found(self, text: str) -> list[str]:
        assert isinstance(self.params, ContainsParams)
        fold: Callable[[str], str] = (lambda s: s) if self.params.case_sensitive else str.casefold
        return [str(e) for e in self.expected if fold(str(e)) in fold(text)]

    def grade(self, answer: Answer) -> Score:
        hits = self.found(answer.text)
        ok = len(hits) == len(self.expected) if self.need_all else bool(hits)
        return Score(float(ok), {"found": hits})


@register
class ContainsAll(_Contains):
    name = "contains_all"
    need_all = True


@register
class ContainsAny(_Contains):
    name = "contains_any"
    need_all = False


_NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?|[-−]?\.\d+")


def last_number(text: str) -> float | None:
    found = _NUMBER.findall(text)
    if not found:
        return None
    raw = found[-1].replace(",", "").replace("−", "-")
    return float(raw)


class NumericParams(NoParams):
    abs_tol: float = 1e-6
    rel_tol: float = 0.0


@register
class Numeric(Scorer):
    """The last number in the answer is within ``abs_tol`` or ``rel_tol`` of ``expected``."""

    name = "numeric"
    Params = NumericParams

    def setup(self) -> None:
        try:
            self.target = float(self.expected)
        except (TypeError, ValueError):
            raise ScorerConfigError(
                f"scorer 'numeric' needs a number as 'expected', got {self.expected!r}"
            ) from None

    def grade(self, answer: Answer) -> Score:
        assert isinstance(self.params, NumericParams)
        got = last_number(answer.text)
        if got is None:
            return Score(0.0, {"reason": "no number in the answer"})
        tol = max(self.params.abs_tol, self.params.rel_tol * abs(self.target))
        return Score(float(abs(got - self.target) <= tol), {"extracted": got})


class ChoiceParams(NoParams):
    choices: str = "ABCD"


@register
class Choice(Scorer):
    """Multiple choice: the first explicit "answer is X", else a leading "X)", else the last lone letter."""

    name = "choice"
    Params = ChoiceParams

    def setup(self) -> None:
        assert isinstance(self.params, ChoiceParams)
        letters = re.escape(self.params.choices)
        if str(self.expected).strip().upper() not in self.params.choices:
            raise ScorerConfigError(
                f"scorer 'choice' expected {self.expected!r} is not one of {self.params.choices}"
            )
        self.patterns = [
            re.compile(rf"(?:answer|option|choice)\s*(?:is|:)?\s*\(?([{letters}])\b", re.IGNORECASE),
            re.compile(rf"答案\s*[是为:：]?\s*\(?([{letters}])"),
            re.compile(rf"^\s*\(?([{letters}])(?:[).:：]|\s*$)"),
            re.compile(rf"\(([{letters}])\)"),
        ]
        self.lone = re.compile(rf"(?<![A-Za-z])([{letters}])(?![A-Za-z])")

    def extract(self, text: str) -> str | None:
        for rx in self.patterns:
            m = rx.search(text)
            if m:
                return m.group(1).upper()
        lone = self.lone.findall(text)
        return lone[-1] if lone else None

    def grade(self, answer: Answer) -> Score:
        got = self.extract(answer.text)
        return Score(float(got == str(self.expected).strip().upper()), {"extracted": got})


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """Parse the answer as JSON, else the first fenced block, else the outermost braces."""
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for cand in candidates:
        try:
            return orjson.loads(cand)
        except orjson.JSONDecodeError:
            continue
    raise ValueError("no JSON value found in the answer")


class SchemaParams(NoParams):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


@register
class JsonSchema(Scorer):
    """The answer parses as JSON and validates against ``schema`` (or ``expected`` as the schema)."""

    name = "json_schema"
    Params = SchemaParams
    needs_expected = False

    def setup(self) -> None:
        assert isinstance(self.params, SchemaParams)
        schema = self.params.schema_ if self.params.schema_ is not None else self.expected
        if not isinstance(schema, dict):
            raise ScorerConfigError("scorer 'json_schema' needs a 'schema' mapping (or 'expected' as one)")
        try:
            validator_cls = jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ScorerConfigError(f"scorer 'json_schema' schema is invalid: {exc.message}") from None
        self.validator = validator_cls(schema)

    def grade(self, answer: Answer) -> Score:
        try:
            value = extract_json(answer.text)
        except ValueError as exc:
            return Score(0.0, {"reason": str(exc)})
        error = jsonschema.exceptions.best_match(self.validator.iter_errors(value))
        if error is not None:
            return Score(0.0, {"reason": f"schema: {error.message}"})
        return Score(1.0, {"parsed": value})
