"""The serving gate for LoRA adapters: registered, pinned and scanned like any model file, a
GGUF LoRA for the base's architecture, and never on a base other than the one it was made for."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.engines.lora_fixture import write_lora
from tests.registry.conftest import MakeGguf

from lockgate.registry.adapter_meta import LINEAGE_KEY
from lockgate.registry.adapters import check_adapter
from lockgate.registry.artifacts import AddOptions, add
from lockgate.registry.bundled import BUNDLED_SHA256, bundled_model_path
from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import GateRefused
from lockgate.registry.gate import check_servable
from lockgate.registry.gate_process import check_in_child
from lockgate.registry.records import Artifact

EU = OperatorConfig(domicile="DE")
APACHE = AddOptions(licence="Apache-2.0")


@pytest.fixture
def base(bundled_engine: Engine) -> Artifact:
    return check_servable(bundled_engine, bundled_model_path(), EU, []).artifact


def _lora(tmp_path: Path, name: str = "support.gguf", **kw: object) -> Path:
    return write_lora(bundled_model_path(), tmp_path / "adapters" / name, rank=2, **kw)  # type: ignore[arg-type]


def test_a_registered_lora_passes_and_its_record_keeps_its_lineage(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path, base_sha256=BUNDLED_SHA256)
    art = add(bundled_engine, path, APACHE)
    assert art.metadata["gguf_type"] == "adapter" and art.metadata["adapter_type"] == "lora"
    assert art.metadata["lora_alpha"] == 8.0 and art.metadata[LINEAGE_KEY] == BUNDLED_SHA256
    assert art.architecture == "llama"
    result = check_adapter(bundled_engine, path, base, EU, [])
    assert result.artifact.id == art.id


def test_a_lora_without_a_stated_base_passes_on_the_bundled_model(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path)
    assert LINEAGE_KEY not in add(bundled_engine, path, APACHE).metadata
    check_adapter(bundled_engine, path, base, EU, [])


def test_an_unregistered_adapter_is_refused_like_a_model(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path)
    with pytest.raises(GateRefused, match="not registered; run `lockgate models add") as err:
        check_adapter(bundled_engine, path, base, EU, [])
    assert err.value.check == "registered"


def test_an_adapter_changed_since_it_was_pinned_is_refused(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path, seed=1)
    add(bundled_engine, path, APACHE)
    _lora(tmp_path, seed=2)  # same file name, other weights
    with pytest.raises(
        GateRefused, match=r"files differ from the hashes pinned at registration \(changed"
    ) as err:
        check_adapter(bundled_engine, path, base, EU, [])
    assert err.value.check == "hashes"


def test_an_adapter_without_a_licence_is_refused_like_a_model(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path)
    add(bundled_engine, path)
    with pytest.raises(GateRefused) as err:
        check_adapter(bundled_engine, path, base, EU, [])
    assert err.value.check == "licence"


def test_a_model_file_is_not_an_adapter(bundled_engine: Engine, base: Artifact, make_gguf: MakeGguf) -> None:
    path = make_gguf("SmolLM2-135M-Instruct", "apache-2.0")
    add(bundled_engine, path)
    with pytest.raises(GateRefused) as err:
        check_adapter(bundled_engine, path, base, EU, [])
    assert err.value.check == "adapter"
    assert "not a LoRA adapter (general.type is None and adapter.type is None" in str(err.value)


def test_an_adapter_of_another_kind_is_refused(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path, adapter_type="control_vector")
    add(bundled_engine, path, APACHE)
    with pytest.raises(
        GateRefused, match=r"adapter\.type is 'control_vector'; expected 'adapter' and 'lora'"
    ):
        check_adapter(bundled_engine, path, base, EU, [])


def test_an_adapter_for_another_architecture_is_refused(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path, arch="qwen2")
    add(bundled_engine, path, APACHE)
    with pytest.raises(GateRefused, match=r"made for architecture 'qwen2', but the base model .* is 'llama'"):
        check_adapter(bundled_engine, path, base, EU, [])


def test_an_adapter_made_on_another_base_is_refused_naming_both_hashes(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    other = "ab" * 32
    path = _lora(tmp_path, base_sha256=other)
    add(bundled_engine, path, APACHE)
    with pytest.raises(GateRefused) as err:
        check_adapter(bundled_engine, path, base, EU, [])
    message = str(err.value)
    assert err.value.check == "base"
    assert (
        f"trained on the base model with SHA-256 {other} (its GGUF metadata lockgate.base.sha256)" in message
    )
    assert f"pinned as SHA-256 {BUNDLED_SHA256}" in message


def test_a_base_hash_in_the_registry_record_is_checked_too(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path)  # the file states no base
    add(bundled_engine, path, AddOptions(licence="Apache-2.0", metadata={LINEAGE_KEY: "CD" * 32}))
    with pytest.raises(GateRefused, match=r"SHA-256 cdcd.* \(its registry record metadata\.base_sha256\)"):
        check_adapter(bundled_engine, path, base, EU, [])


def test_the_base_hash_in_a_tune_lineage_is_checked_too(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path)
    lineage = {"kind": "lora-adapter", "base": {"name": "other", "sha256": "12" * 32}}
    add(bundled_engine, path, AddOptions(licence="Apache-2.0", metadata={"lineage": lineage}))
    with pytest.raises(
        GateRefused, match=r"SHA-256 1212.* \(its registry record metadata\.lineage\.base\.sha256\)"
    ):
        check_adapter(bundled_engine, path, base, EU, [])


def test_a_tune_lineage_naming_the_served_base_passes(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path, base_sha256=BUNDLED_SHA256)
    lineage = {"kind": "lora-adapter", "base": {"name": "bundled:smollm2", "sha256": BUNDLED_SHA256}}
    add(bundled_engine, path, AddOptions(licence="Apache-2.0", metadata={"lineage": lineage}))
    check_adapter(bundled_engine, path, base, EU, [])


def test_a_stated_base_hash_that_is_no_hash_is_refused(
    bundled_engine: Engine, base: Artifact, tmp_path: Path
) -> None:
    path = _lora(tmp_path, base_sha256="smollm2")
    add(bundled_engine, path, APACHE)
    with pytest.raises(GateRefused, match=r"lockgate\.base\.sha256 is 'smollm2', not a SHA-256"):
        check_adapter(bundled_engine, path, base, EU, [])


def test_the_gate_process_checks_adapters_after_their_base(bundled_engine: Engine, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bundled-copy.db'}"  # bundled_engine's store
    path = _lora(tmp_path, name="child.gguf", base_sha256="ef" * 32)
    check_in_child(url, bundled_model_path(), EU, [], False)  # the base alone passes
    with pytest.raises(GateRefused, match="not registered"):
        check_in_child(url, bundled_model_path(), EU, [], False, [path])
    add(bundled_engine, path, APACHE)
    with pytest.raises(GateRefused, match=f"trained on the base model with SHA-256 {'ef' * 32}"):
        check_in_child(url, bundled_model_path(), EU, [], False, [path])
