"""``json_fields``: the answer is a JSON object whose named fields equal the expected ones.

For structured answers such as ``{"category": "billing", "priority": "high"}``.  ``expected``
is a mapping or the text of a JSON object (a reference answer, as in a fine-tuning dataset's
held-out split); ``fields`` limits the comparison to some keys (default: all expected keys).
Strings compare after trimming and, unless ``case_sensitive``, case-folding.  Binary: 1 when
every field matches, else 0, with the wrong or missing fields in ``detail``.
"""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.eval.scorers import Answer, NoParams, Score, Scorer, ScorerConfigError, extract_json, register


class FieldsParams(NoParams):
    fields: list[str] | None = None
    case_sensitive: bool = False


def _expected_mapping(expected: Any) -> dict[str, Any]:
    if isinstance(expected, str):
        try:
            expected = orjson.loads(expected)
        except orjson.JSONDecodeError:
            raise ScorerConfigError("scorer 'json_fields' needs 'expected' as a JSON object") from None
    if not isinstance(expected, dict) or not expected:
        raise ScorerConfigError("scorer 'json_fields' needs 'expected' as a non-empty JSON object")
    return expected


@register
class JsonFields(Scorer):
    name = "json_fields"
    Params = FieldsParams

    def setup(self) -> None:
        assert isinstance(self.params, FieldsParams)
        self.target = _expected_mapping(self.expected)
        self.fields = self.params.fields if self.params.fields is not None else sorted(self.target)
        missing = [f for f in self.fields if f not in self.target]
        if missing:
            raise ScorerConfigError(f"scorer 'json_fields': expected has no field(s) {', '.join(missing)}")

    def _same(self, got: Any, want: Any) -> bool:
        assert isinstance(self.params, FieldsParams)
        if isinstance(got, str) and isinstance(want, str):
            got, want = got.strip(), want.strip()
            if not self.params.case_sensitive:
                got, want = got.casefold(), want.casefold()
        return bool(got == want)

    def grade(self, answer: Answer) -> Score:
        try:
            value = extract_json(answer.text)
        except ValueError as exc:
            return Score(0.0, {"reason": str(exc)})
        if not isinstance(value, dict):
            return Score(0.0, {"reason": "the answer is JSON but not an object", "parsed": value})
        wrong = [f for f in self.fields if f not in value or not self._same(value[f], self.target[f])]
        return Score(float(not wrong), {"parsed": value, "wrong": wrong})
