"""A tiny real run: train a few steps, export a GGUF LoRA, register it, evaluate it through a gateway.

One run (module fixture) is shared by the checks on the adapter file, llama.cpp, the registry,
the ML-BOM, the CLI and the evaluation; resume and the personal-data gate run their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from click.testing import CliRunner
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from sqlalchemy import Engine
from tests.registry.conftest import write_gguf
from tests.tune.conftest import Recorder, write_dataset, write_spec

from lockgate.cli import cli
from lockgate.config.loader import load_config
from lockgate.config.schema import GatewayConfig
from lockgate.registry.adapters import check_adapter
from lockgate.registry.artifacts import AddOptions, add, list_artifacts, verify
from lockgate.registry.bom import bom_json
from lockgate.registry.bundled import BUNDLED_SHA256, bundled_model_path
from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import GateRefused
from lockgate.registry.records import get_artifact
from lockgate.storage.db import open_store
from lockgate.tune import pipeline
from lockgate.tune.errors import PersonalDataFound, TuneError
from lockgate.tune.spec import load_spec

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]  # a loaded 2-core machine is slow
IBAN = "DE89 3704 0044 0532 0130 00"


@dataclass
class Run:
    folder: Path
    cfg: GatewayConfig
    engine: Engine
    outcome: pipeline.Outcome
    reporter: Recorder

    @property
    def adapter(self) -> Path:
        return Path(self.outcome.record.adapter["path"])


def _run(folder: Path, evaluate: bool, reporter: Recorder | None = None, **spec: Any) -> tuple[Any, ...]:
    cfg = load_config(folder / "lockgate.yaml")
    engine = open_store(cfg.storage_url())
    rep = reporter or Recorder()
    spec_path = write_spec(folder, **spec)
    outcome = pipeline.run(load_spec(spec_path), spec_path, cfg, engine, rep, evaluate=evaluate)
    return cfg, engine, outcome, rep


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("tune")
    write_dataset(folder / "data.jsonl")
    (folder / "lockgate.yaml").write_text(f"data_dir: {folder / 'state'}\noperator: {{name: Example GmbH}}\n")
    cfg, engine, outcome, rep = _run(folder, evaluate=True)
    yield Run(folder, cfg, engine, outcome, rep)
    engine.dispose()


def _tensors(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    return {t.name: np.array(t.data) for t in gguf.GGUFReader(path).tensors}


def test_the_adapter_is_a_gguf_lora_for_its_base(run: Run) -> None:
    reader = gguf.GGUFReader(run.adapter)
    meta = {k: reader.get_field(k).contents() for k in  # type: ignore[union-attr]
            ("general.type", "adapter.type", "adapter.lora.alpha", "general.architecture", "lockgate.base.sha256")}  # fmt: skip
    assert meta == {"general.type": "adapter", "adapter.type": "lora", "adapter.lora.alpha": 8.0,
                    "general.architecture": "llama", "lockgate.base.sha256": BUNDLED_SHA256}  # fmt: skip
    shapes = {t.name: [int(x) for x in t.shape] for t in reader.tensors}  # ggml order: ne[0] first
    assert len(shapes) == 30 * 2 * 2  # 30 blocks x (q, v) x (a, b)
    assert shapes["blk.0.attn_q.weight.lora_a"] == [576, 4]  # in x r
    assert shapes["blk.0.attn_q.weight.lora_b"] == [4, 576]  # r x out
    assert shapes["blk.29.attn_v.weight.lora_b"] == [4, 192]  # 3 kv heads x 64
    assert run.outcome.record.status == "done"


def _llama_logits(lora: Path | None, tokens: list[int]) -> np.ndarray[Any, Any]:
    from llama_cpp import Llama

    kw: dict[str, Any] = {"n_ctx": 256, "verbose": False, "n_threads": 2, "logits_all": True}
    llm = Llama(str(bundled_model_path()), lora_path=str(lora) if lora else None, **kw)
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)])


def test_llama_cpp_loads_it_and_it_moves_the_output_as_training_did(run: Run) -> None:
    """The change llama.cpp applies equals the one peft learned (names, shapes, q/k row order)."""
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    from lockgate.tune import train

    text = "<|im_start|>user\nWhat colour is the grass?<|im_end|>\n<|im_start|>assistant\n"
    base_model, tok = train.load_base(train.BaseSource(bundled_model_path()))
    tokens = tok(text, add_special_tokens=False)["input_ids"]
    cpp_delta = _llama_logits(run.adapter, tokens) - _llama_logits(None, tokens)
    assert np.abs(cpp_delta).max() > 0.05  # the adapter changes what llama.cpp computes

    peft_model = get_peft_model(
        base_model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    )
    ckpt = torch.load(sorted((run.outcome.run_dir / "checkpoints").glob("*.pt"))[-1], weights_only=False)
    set_peft_model_state_dict(peft_model, ckpt["lora"])
    with torch.no_grad():
        ids = torch.tensor([tokens])
        tuned = peft_model(input_ids=ids).logits[0].numpy()
        with peft_model.disable_adapter():
            plain = peft_model(input_ids=ids).logits[0].numpy()
    hf_delta = tuned - plain
    corr = np.corrcoef(hf_delta.ravel(), cpp_delta.ravel())[0, 1]
    assert corr > 0.9, corr  # a wrong tensor map or q row order decorrelates the two


def test_registry_pins_the_adapter_with_its_lineage(run: Run) -> None:
    rec = run.outcome.record
    art = get_artifact(run.engine, rec.adapter["artifact_id"])
    assert art.name == f"adapter:{rec.run_id}" and art.files[0].sha256 == rec.adapter["sha256"]
    assert verify(run.engine, art.id).ok
    assert art.licence_id == "Apache-2.0" and art.publisher == "Example GmbH"
    lineage = art.metadata["lineage"]
    assert lineage["base"]["sha256"] == BUNDLED_SHA256
    assert lineage["base"]["weights_source"] == "dequantized-gguf"
    assert lineage["dataset"]["sha256"] == rec.dataset["sha256"] and lineage["dataset"]["examples"] == 6
    assert lineage["hyper_parameters"]["lora"]["r"] == 4 and lineage["seed"] == 3
    assert set(lineage["libraries"]) == {"torch", "transformers", "peft"}
    assert len(lineage["loss_curve"]) == 4
    assert lineage["eval_run_ids"] == [rec.eval.run_id] if rec.eval else False


def test_the_ml_bom_names_the_lineage(run: Run) -> None:
    text = bom_json(list_artifacts(run.engine))
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    rec = run.outcome.record
    comp = next(c for c in json.loads(text)["components"] if c["bom-ref"] == rec.adapter["artifact_id"])
    ancestor = comp["pedigree"]["ancestors"][0]
    assert ancestor["name"] == "bundled:smollm2" and ancestor["hashes"][0]["content"] == BUNDLED_SHA256
    props = {p["name"]: p["value"] for p in comp["properties"]}
    assert props["lockgate:lineage.dataset_sha256"] == rec.dataset["sha256"]
    assert props["lockgate:lineage.seed"] == "3"
    assert json.loads(props["lockgate:lineage.eval_run_ids"]) == [rec.eval.run_id] if rec.eval else False
    assert len(json.loads(props["lockgate:lineage.loss_curve"])) == 4


def test_models_show_and_tune_show_print_it(run: Run) -> None:
    rec = run.outcome.record
    cfg = str(run.folder / "lockgate.yaml")
    wide = {"COLUMNS": "400"}  # rich wraps long values to the terminal's width
    shown = CliRunner().invoke(cli, ["models", "show", rec.adapter["artifact_id"], "-c", cfg], env=wide)
    assert shown.exit_code == 0, shown.output
    assert "lineage.base" in shown.output and BUNDLED_SHA256[:16] in shown.output
    listed = CliRunner().invoke(cli, ["tune", "list", "-c", cfg], env=wide)
    assert listed.exit_code == 0 and rec.run_id[:10] in listed.output
    detail = CliRunner().invoke(cli, ["tune", "show", rec.run_id, "-c", cfg, "--json"])
    assert json.loads(detail.output)["adapter"]["sha256"] == rec.adapter["sha256"]
    missing = CliRunner().invoke(cli, ["tune", "show", "nope", "-c", cfg])
    assert missing.exit_code == 1 and "no tune run match 'nope'" in missing.output


def test_base_and_tuned_were_evaluated_through_a_gateway(run: Run) -> None:
    rec = run.outcome.record
    assert rec.eval is not None and Path(rec.eval.report).is_file()
    assert rec.eval.scores["base"]["graded"] == 2 and rec.eval.scores["tuned"]["graded"] == 2
    results = json.loads((Path(rec.eval.run_dir) / "results.json").read_text())
    assert {r["model"] for r in results["items"]} == {"base", "tuned"}
    assert all(r["deployment"] and r["error"] is None for r in results["items"])
    assert {r["item_id"] for r in results["items"]} == {f"line-{n}" for n in rec.split["heldout_lines"]}
    assert len(run.reporter.evals) == 4 and "difference" in rec.eval.scores


def test_an_adapter_is_refused_on_a_base_it_was_not_trained_on(run: Run, tmp_path: Path) -> None:
    """The serving gate (registry.adapters) reads lockgate.base.sha256 that tune wrote."""
    other = add(run.engine, write_gguf(tmp_path / "other.gguf", "other-base", "apache-2.0"),
                AddOptions(licence="Apache-2.0"))  # fmt: skip
    with pytest.raises(GateRefused) as err:
        check_adapter(run.engine, run.adapter, other, OperatorConfig(), [])
    assert err.value.check == "base" and BUNDLED_SHA256 in str(err.value)
    bundled = get_artifact(run.engine, run.outcome.record.base["artifact_id"])
    assert check_adapter(run.engine, run.adapter, bundled, OperatorConfig(), []).artifact.name.startswith(
        "adapter:"
    )


def test_resume_after_an_interruption_ends_with_the_same_adapter(run: Run, tune_dir: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _run(
            tune_dir, evaluate=False, reporter=Recorder(stop_at_step=3)
        )  # killed after the step-2 checkpoint
    with pytest.raises(TuneError, match="no unfinished run"):
        cfg = load_config(tune_dir / "lockgate.yaml")
        spec_path = write_spec(tune_dir, name="other")
        pipeline.run(
            load_spec(spec_path), spec_path, cfg, open_store(cfg.storage_url()), Recorder(), resume=True
        )
    cfg = load_config(tune_dir / "lockgate.yaml")
    spec_path = write_spec(tune_dir)
    rep = Recorder()
    outcome = pipeline.run(load_spec(spec_path), spec_path, cfg, open_store(cfg.storage_url()), rep,
                           resume=True, evaluate=False)  # fmt: skip
    assert outcome.record.training["resumed_from_step"] == 2
    assert [s.step for s in rep.steps] == [3, 4]
    assert outcome.record.training["losses"] == run.outcome.record.training["losses"]
    resumed, uninterrupted = _tensors(Path(outcome.record.adapter["path"])), _tensors(run.adapter)
    assert resumed.keys() == uninterrupted.keys()
    assert all(np.array_equal(resumed[k], uninterrupted[k]) for k in resumed)


def test_personal_data_is_refused_then_accepted_with_a_recorded_ack(tune_dir: Path) -> None:
    write_dataset(tune_dir / "data.jsonl", [json.dumps({"messages": [
        {"role": "user", "content": f"Refund to {IBAN}"}, {"role": "assistant", "content": "{}"}]})])  # fmt: skip
    spec_path = write_spec(tune_dir, name="pii", train={"steps": 1, "batch_size": 2, "device": "cpu"})
    cfg = str(tune_dir / "lockgate.yaml")
    refused = CliRunner().invoke(cli, ["tune", "run", str(spec_path), "-c", cfg])
    assert refused.exit_code == 1 and "iban x1" in refused.output and "line(s) 7" in refused.output
    assert not (tune_dir / "state" / "tune").exists() or not any((tune_dir / "state" / "tune").iterdir())
    with pytest.raises(PersonalDataFound):
        _run(tune_dir, evaluate=False, name="pii", train={"steps": 1, "batch_size": 2, "device": "cpu"})
    accepted = CliRunner().invoke(cli, ["tune", "run", str(spec_path), "-c", cfg, "--no-eval",
                                        "--ack", "refund records under contract"])  # fmt: skip
    assert accepted.exit_code == 0, accepted.output
    run_id = accepted.output.split("run ", 1)[1].split(":", 1)[0]
    rec = json.loads(CliRunner().invoke(cli, ["tune", "show", run_id, "-c", cfg, "--json"]).output)
    assert rec["pii"]["ack"]["reason"] == "refund records under contract" and rec["pii"]["lines"] == [7]
    art = json.loads(CliRunner().invoke(cli, ["models", "show", rec["adapter"]["artifact_id"], "-c", cfg,
                                              "--json"]).output)  # fmt: skip
    assert art["metadata"]["lineage"]["pii_ack"]["reason"] == "refund records under contract"


def test_original_weights_are_used_when_a_local_folder_has_them(tune_dir: Path) -> None:
    from lockgate.tune import train

    model, tok = train.load_base(train.BaseSource(bundled_model_path()))
    model.hf_quantizer = None  # dequantized already: save it as a plain Hugging Face folder
    del model.config.quantization_config
    folder = tune_dir / "hf"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    _cfg, engine, outcome, rep = _run(tune_dir, evaluate=False, weights="hf",
                                      train={"steps": 1, "batch_size": 2, "device": "cpu"})  # fmt: skip
    assert outcome.record.base["weights_source"] == "original-weights"
    assert outcome.record.base["weights_path"] == str(folder.resolve())
    assert "(original-weights)" in rep.stages[0]
    art = get_artifact(engine, outcome.record.adapter["artifact_id"])
    assert art.metadata["lineage"]["base"]["weights_source"] == "original-weights"
    engine.dispose()
