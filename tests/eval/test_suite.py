from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lockgate.eval.scorers import ScorerConfigError, build_scorers
from lockgate.eval.suite import SuiteError, load_suite

SUITE = """
name: demo
defaults:
  params: {temperature: 0.2, max_tokens: 16}
  tags: [base]
  system: Be brief.
items:
  - {id: a, prompt: "one", expected: "1", tags: [x]}
  - {id: b, prompt: "two", expected: "2", tags: [y], params: {temperature: 0.9}}
  - id: c
    messages:
      - {role: system, content: Own system.}
      - {role: user, content: "three"}
      - {role: assistant, content: "3"}
      - {role: user, content: "again?"}
    expected: "3"
    tags: [x, y]
    scorer: {name: regex, pattern: "3"}
"""


def test_yaml_suite_defaults_and_messages(write_suite: Callable[..., Path]) -> None:
    suite = load_suite(write_suite(SUITE))
    a, b, c = suite.items
    assert suite.messages_for(a) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "one"},
    ]
    assert suite.messages_for(c)[0] == {"role": "system", "content": "Own system."}
    assert len(suite.messages_for(c)) == 4
    assert suite.params_for(a).model_dump(exclude_none=True) == {"temperature": 0.2, "max_tokens": 16}
    assert suite.params_for(b).temperature == 0.9
    assert suite.tags_for(a) == ["base", "x"]
    assert suite.scorer_for(a).name == "normalised"
    assert suite.scorer_for(c).params == {"pattern": "3"}


def test_tag_split_and_seeded_sample(write_suite: Callable[..., Path]) -> None:
    lines = "\n".join(
        f'  - {{id: i{n}, prompt: "p{n}", expected: "{n}", tags: [{"even" if n % 2 == 0 else "odd"}]}}'
        for n in range(40)
    )
    suite = load_suite(write_suite("name: big\nitems:\n" + lines + "\n"))
    assert [i.id for i in suite.select(["odd"]).items] == [f"i{n}" for n in range(1, 40, 2)]
    assert len(suite.select(["odd", "even"]).items) == 40
    first = [i.id for i in suite.select(sample=7, seed=3).items]
    again = [i.id for i in suite.select(sample=7, seed=3).items]
    other = [i.id for i in suite.select(sample=7, seed=4).items]
    assert first == again and len(first) == 7 and first != other
    assert [i.id for i in suite.select(["even"], sample=3, seed=1).items] == [
        i.id for i in suite.select(["even"], sample=3, seed=1).items
    ]
    assert all(int(i.id[1:]) % 2 == 0 for i in suite.select(["even"], sample=5, seed=9).items)


def test_jsonl_suite(write_suite: Callable[..., Path]) -> None:
    path = write_suite(
        '{"id": "x", "prompt": "hi", "expected": "hello"}\n\n{"id": "y", "prompt": "yo", "expected": "y"}\n',
        "s.jsonl",
    )
    suite = load_suite(path)
    assert suite.name == "s" and [i.id for i in suite.items] == ["x", "y"]


@pytest.mark.parametrize(
    ("text", "name", "fragments"),
    [
        (
            '{"id": "x", "prompt": "hi"}\n{"id": "y", "prompt": "a", "colour": 1}\n',
            "s.jsonl",
            ["line 2", "item 'y'", "colour"],
        ),
        ('{"id": "x", "prompt": "hi"}\n{not json\n', "s.jsonl", ["line 2", "not valid JSON"]),
        (
            "items:\n  - {id: q, prompt: a, messages: [{role: user, content: b}]}\n",
            "s.yaml",
            ["item 'q'", "exactly one"],
        ),
        (
            "items:\n  - {id: q, messages: [{role: robot, content: b}]}\n",
            "s.yaml",
            ["item 'q'", "messages.0.role"],
        ),
        (
            "items:\n  - {id: q, prompt: a, params: {temperature: 7}}\n",
            "s.yaml",
            ["item 'q'", "params.temperature"],
        ),
        ("items:\n  - {prompt: a}\n", "s.yaml", ["item #1", "field 'id'"]),
        ("items:\n  - {id: q, prompt: a}\n  - {id: q, prompt: b}\n", "s.yaml", ["'q' is used twice"]),
        ("items: [\n", "s.yaml", ["not valid YAML", "line"]),
        ("name: x\n", "s.yaml", ["'items' list"]),
        ("items:\n  - {id: q, prompt: a}\nbogus: 1\n", "s.yaml", ["suite header", "bogus"]),
        ("items: []\n", "s.yaml", ["no items"]),
        ("x", "s.txt", [".yaml, .yml or .jsonl"]),
    ],
)
def test_bad_suites_give_one_line_errors(
    write_suite: Callable[..., Path], text: str, name: str, fragments: list[str]
) -> None:
    with pytest.raises(SuiteError) as err:
        load_suite(write_suite(text, name))
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file() -> None:
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(Path("/nonexistent/suite.yaml"))


def test_scorer_errors_name_the_item(write_suite: Callable[..., Path]) -> None:
    suite = load_suite(
        write_suite("items:\n  - {id: q, prompt: a, expected: x, scorer: {name: regex, pattern: '('}}\n")
    )
    with pytest.raises(ScorerConfigError, match=r"item 'q'.*not a valid regex"):
        build_scorers(suite)
    suite = load_suite(write_suite("items:\n  - {id: r, prompt: a, expected: x, scorer: nope}\n"))
    with pytest.raises(ScorerConfigError, match=r"item 'r'.*unknown scorer 'nope'"):
        build_scorers(suite)
