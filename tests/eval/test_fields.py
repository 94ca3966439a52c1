"""The ``json_fields`` scorer: structured answers compared field by field."""

from __future__ import annotations

import pytest

from lockgate.eval.scorers import Answer, ScorerConfigError, build_scorer, scorer_names

WANT = '{"category": "billing", "priority": "high"}'


def grade(text: str, expected: object = WANT, **params: object) -> tuple[float | None, dict[str, object]]:
    score = build_scorer("json_fields", dict(params), expected).grade(Answer(text))
    return score.value, score.detail


def test_registered() -> None:
    assert "json_fields" in scorer_names()


@pytest.mark.parametrize(
    "text",
    [
        '{"category": "billing", "priority": "high"}',
        '{"priority": "high", "category": "billing"}',
        '```json\n{"category": "Billing ", "priority": "HIGH"}\n```',
        'Sure: {"category": "billing", "priority": "high", "note": "extra keys are fine"}',
    ],
)
def test_matching_answers(text: str) -> None:
    assert grade(text)[0] == 1.0


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ('{"category": "billing", "priority": "low"}', ["priority"]),
        ('{"category": "shipping"}', ["category", "priority"]),
        ('{"category": "billing", "priority": 3}', ["priority"]),
    ],
)
def test_wrong_fields_are_named(text: str, wrong: list[str]) -> None:
    value, detail = grade(text)
    assert value == 0.0 and detail["wrong"] == wrong


def test_unparseable_or_non_object_answers_fail() -> None:
    assert grade("billing, high")[0] == 0.0
    value, detail = grade("[1, 2]")
    assert value == 0.0 and detail["reason"] == "the answer is JSON but not an object"


def test_case_sensitive_and_field_subset() -> None:
    assert grade('{"category": "Billing", "priority": "high"}', case_sensitive=True)[0] == 0.0
    assert grade('{"category": "billing", "priority": "low"}', fields=["category"])[0] == 1.0
    assert (
        grade('{"category": "billing"}', {"category": "billing", "priority": "high"}, fields=["category"])[0]
        == 1.0
    )


@pytest.mark.parametrize(
    ("expected", "params", "message"),
    [
        ("not json", {}, "needs 'expected' as a JSON object"),
        ("[1]", {}, "non-empty JSON object"),
        ({}, {}, "non-empty JSON object"),
        (None, {}, "needs an 'expected' value"),
        (WANT, {"fields": ["colour"]}, "expected has no field(s) colour"),
        (WANT, {"strict": True}, "parameter 'strict'"),
    ],
)
def test_bad_configuration_is_refused(expected: object, params: dict[str, object], message: str) -> None:
    with pytest.raises(ScorerConfigError) as err:
        build_scorer("json_fields", params, expected)
    assert message in str(err.value)
