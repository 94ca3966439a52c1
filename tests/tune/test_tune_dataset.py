"""Dataset validation (with line numbers), hashing and the seeded held-out split."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lockgate.tune.dataset import load_dataset, split
from lockgate.tune.errors import DatasetError


def chat(user: str, answer: str, system: str | None = None) -> str:
    msgs = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
    ]
    return json.dumps({"messages": msgs})


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_valid_file_is_hashed_and_sized(tmp_path: Path) -> None:
    path = write(tmp_path, [chat("a", "b"), "", chat("c", "d", system="s")])
    ds = load_dataset(path)
    assert [n for n, _ in ds.examples] == [1, 3]  # blank lines are skipped, numbering is the file's
    assert ds.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ds.size_bytes == path.stat().st_size
    assert ds.examples[1][1].prompt() == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "c"},
    ]
    assert ds.examples[1][1].answer == "d"


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: each line must be a JSON object"),
        ('{"prompt": "x", "completion": "y"}', "line 2: messages: Field required"),
        (json.dumps({"messages": [{"role": "user", "content": "q"}]}), "line 2: messages: List should have at least 2"),
        (json.dumps({"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}),
         "line 2: the last message must be the assistant's answer"),
        (json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]}),
         "line 2: the last (assistant) message has empty content"),
        (json.dumps({"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]}),
         "line 2: messages.0.role: Input should be"),
        (json.dumps({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "a"}]}),
         "line 2: messages.0.content: Input should be a valid string"),
        (json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}),
         "line 2: needs at least one user message"),
        (json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "x": 1}),
         "line 2: x: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_invalid_lines_are_named(tmp_path: Path, bad: str, needle: str) -> None:
    path = write(tmp_path, [chat("a", "b"), bad, chat("c", "d")])
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert needle in str(err.value)
    assert "1 invalid line(s)" in str(err.value)


def test_many_problems_are_counted_and_the_first_listed(tmp_path: Path) -> None:
    path = write(tmp_path, ["{"] * 8)
    with pytest.raises(DatasetError, match=r"8 invalid line\(s\): line 1: .*line 5: .*\(\+3 more\)"):
        load_dataset(path)


def test_missing_empty_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="no examples"):
        load_dataset(write(tmp_path, [""]))
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_dataset(bad)


def test_split_is_deterministic_by_seed_and_disjoint(tmp_path: Path) -> None:
    ds = load_dataset(write(tmp_path, [chat(f"q{i}", f"a{i}") for i in range(50)]))
    train, held = split(ds, 0.2, seed=7)
    assert len(held) == 10 and len(train) == 40
    assert not set(train) & set(held) and sorted(train + held) == list(range(1, 51))
    assert split(ds, 0.2, seed=7) == (train, held)
    assert split(ds, 0.2, seed=8)[1] != held


def test_split_needs_both_parts(tmp_path: Path) -> None:
    ds = load_dataset(write(tmp_path, [chat("a", "b")]))
    with pytest.raises(DatasetError, match="cannot be split"):
        split(ds, 0.2, seed=0)
