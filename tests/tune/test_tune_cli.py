"""``lockgate tune`` on bad input: one-line errors naming the file, line or field; nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.tune.conftest import write_spec

from lockgate.cli import cli
from lockgate.tune.errors import TuneError
from lockgate.tune.spec import load_spec


def invoke(tune_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["tune", *args, "-c", str(tune_dir / "lockgate.yaml")])
    return result.exit_code, result.output


def test_dataset_errors_are_reported_by_line_before_anything_is_written(tune_dir: Path) -> None:
    with (tune_dir / "data.jsonl").open("a") as f:
        f.write('{"messages": [{"role": "user", "content": "q"}]}\n{oops\n')
    code, out = invoke(tune_dir, "run", str(write_spec(tune_dir)))
    assert code == 1
    assert "2 invalid line(s): line 7: messages: List should have at least 2 items" in out
    assert "line 8: not valid JSON" in out
    assert not (tune_dir / "state" / "tune").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "x", "dataset": "data.jsonl", "lora": {"r": 0}}, "field 'lora.r': Input should be greater"),
        ({"name": "x", "dataset": "data.jsonl", "lora": {"targets": ["lm_head"]}}, "field 'lora.targets.0'"),
        ({"name": "x", "dataset": "data.jsonl", "heldout": 1.5}, "field 'heldout'"),
        ({"name": "x", "dataset": "data.jsonl", "train": {"device": "tpu"}}, "field 'train.device'"),
        (
            {"name": "x", "dataset": "data.jsonl", "epochs": 3},
            "field 'epochs': Extra inputs are not permitted",
        ),
        ({"name": "bad name", "dataset": "data.jsonl"}, "field 'name': String should match pattern"),
        ({"name": "x"}, "field 'dataset': Field required"),
    ],
)
def test_spec_errors_name_the_field(tune_dir: Path, spec: dict[str, object], message: str) -> None:
    path = tune_dir / "spec.yaml"
    path.write_text(json.dumps(spec))
    code, out = invoke(tune_dir, "run", str(path))
    assert code == 1 and message in out and str(path) in out


def test_unreadable_specs(tune_dir: Path) -> None:
    assert "no such run spec file" in invoke(tune_dir, "run", str(tune_dir / "missing.yaml"))[1]
    bad = tune_dir / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert "not valid YAML" in invoke(tune_dir, "run", str(bad))[1]
    bad.write_text("- a list\n")
    assert "a run spec is a mapping" in invoke(tune_dir, "run", str(bad))[1]


def test_missing_dataset_and_scorer_problems(tune_dir: Path) -> None:
    code, out = invoke(tune_dir, "run", str(write_spec(tune_dir, dataset="nope.jsonl")))
    assert code == 1 and "nope.jsonl: no such file" in out


def test_paths_are_taken_from_the_spec_folder(tune_dir: Path) -> None:
    spec = load_spec(write_spec(tune_dir, output="~/x.gguf", weights="hf"))
    assert spec.dataset == (tune_dir / "data.jsonl").resolve()
    assert spec.output == Path("~/x.gguf").expanduser() and spec.weights == (tune_dir / "hf").resolve()
    assert spec.digest() == load_spec(write_spec(tune_dir, output="e.gguf", weights="hf")).digest()
    assert spec.digest() != load_spec(write_spec(tune_dir, seed=4)).digest()


def test_resume_without_an_unfinished_run(tune_dir: Path) -> None:
    code, out = invoke(tune_dir, "run", str(write_spec(tune_dir)), "--resume")
    assert code == 1 and "--resume: no unfinished run of 'tiny'" in out


def test_list_is_empty_and_show_unknown(tune_dir: Path) -> None:
    code, out = invoke(tune_dir, "list", "--json")
    assert code == 0 and json.loads(out) == []
    code, out = invoke(tune_dir, "show", "tiny-2026")
    assert code == 1 and "no tune run match 'tiny-2026'" in out
    with pytest.raises(TuneError):
        load_spec(tune_dir)
