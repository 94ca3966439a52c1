"""Fixtures for tune tests: a tiny dataset, a run spec and a gateway config in a temp folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SYSTEM = 'Reply with JSON {"colour": C}.'
COLOURS = {"sky": "blue", "grass": "green", "blood": "red", "snow": "white", "coal": "black", "sun": "yellow"}


def write_dataset(path: Path, extra: list[str] | None = None) -> Path:
    lines = [
        json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                 {"role": "user", "content": f"What colour is the {thing}?"},
                                 {"role": "assistant", "content": json.dumps({"colour": colour})}]})
        for thing, colour in COLOURS.items()
    ]  # fmt: skip
    path.write_text("\n".join(lines + (extra or [])) + "\n", encoding="utf-8")
    return path


def write_spec(folder: Path, name: str = "tiny", **over: Any) -> Path:
    spec: dict[str, Any] = {
        "name": name,
        "dataset": "data.jsonl",
        "heldout": 0.34,
        "seed": 3,
        "lora": {"r": 4, "alpha": 8, "targets": ["q_proj", "v_proj"]},
        "train": {"steps": 4, "batch_size": 2, "learning_rate": 0.02, "warmup_steps": 0, "max_length": 64,
                  "checkpoint_every": 2, "device": "cpu"},
        "eval": {"scorer": "json_fields", "max_tokens": 12, "concurrency": 2},
    }  # fmt: skip
    spec.update(over)
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


@dataclass
class Recorder:
    """A pipeline reporter that remembers what it was told (and can interrupt training)."""

    stop_at_step: int | None = None
    stages: list[str] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)
    evals: list[Any] = field(default_factory=list)

    def stage(self, text: str) -> None:
        self.stages.append(text)

    def step(self, info: Any) -> None:
        self.steps.append(info)
        if info.step == self.stop_at_step:
            raise KeyboardInterrupt

    def eval_total(self, n: int) -> None:
        self.stages.append(f"eval {n}")

    def eval_result(self, result: Any) -> None:
        self.evals.append(result)


@pytest.fixture
def tune_dir(tmp_path: Path) -> Path:
    write_dataset(tmp_path / "data.jsonl")
    (tmp_path / "lockgate.yaml").write_text(f"data_dir: {tmp_path / 'state'}\n", encoding="utf-8")
    return tmp_path
