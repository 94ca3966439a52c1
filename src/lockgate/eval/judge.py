"""LLM-as-judge: a chosen judge model grades the answer against a rubric.

The judge is called through the same gateway (``--judge MODEL``) at temperature 0.  The
exact prompt sent and the judge's raw reply are stored in the item's score detail, so a
reader of the report can check every judgement.  The judge must answer with a line
``SCORE: n`` (n within the rubric's scale); failing that, the last number in range is
used; a reply with no usable number leaves the item ungraded (counted as a failure).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from lockgate.eval.scorers import NoParams, Score, ScoreInput, Scorer, register

JUDGE_SYSTEM = (
    "You are a careful, strict grader. You read a question, an optional reference answer, a rubric "
    "and a candidate answer, and you grade the candidate answer only by the rubric."
)

JUDGE_TEMPLATE = """Question:
{question}

Reference answer (may be empty):
{reference}

Rubric:
{rubric}

Candidate answer:
{answer}

Grade the candidate answer from {low} (worst) to {high} (best).
End your reply with one line of the form: SCORE: <number>"""

_SCORE_LINE = re.compile(r"SCORE\s*[:=：]\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_ANY_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class JudgeParams(NoParams):
    rubric: str = Field(min_length=1)
    low: int = 1
    high: int = 5

    @model_validator(mode="after")
    def _range(self) -> JudgeParams:
        if self.high <= self.low:
            raise ValueError("'high' must be greater than 'low'")
        return self


def question_of(messages: list[dict[str, Any]]) -> str:
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


def judge_messages(
    question: str, reference: Any, rubric: str, answer: str, low: int, high: int
) -> list[dict[str, Any]]:
    body = JUDGE_TEMPLATE.format(
        question=question,
        reference="" if reference is None else str(reference),
        rubric=rubric,
        answer=answer,
        low=low,
        high=high,
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": body}]


def parse_score(reply: str, low: float, high: float) -> float | None:
    """The ``SCORE:`` value, else the last number within [low, high]; None if neither."""
    m = _SCORE_LINE.findall(reply)
    candidates = [float(v) for v in m] if m else [float(v) for v in _ANY_NUMBER.findall(reply)]
    in_range = [v for v in candidates if low <= v <= high]
    return in_range[-1] if in_range else None


@register
class Judge(Scorer):
    """Score = (judge grade - low) / (high - low); needs ``--judge MODEL``."""

    name = "judge"
    Params = JudgeParams
    needs_expected = False
    binary = False

    async def score(self, inp: ScoreInput) -> Score:
        assert isinstance(self.params, JudgeParams)
        p = self.params
        if inp.judge is None:
            return Score(None, {"reason": "no judge model configured; pass --judge MODEL"})
        prompt = judge_messages(
            question_of(inp.messages), self.expected, p.rubric, inp.answer.text, p.low, p.high
        )
        reply = await inp.judge(prompt)
        grade = parse_score(reply, p.low, p.high)
        detail: dict[str, Any] = {"judge_prompt": prompt, "judgement": reply, "grade": grade}
        if grade is None:
            detail["reason"] = f"the judge reply has no score between {p.low} and {p.high}"
            return Score(None, detail)
        return Score((grade - p.low) / (p.high - p.low), detail)
