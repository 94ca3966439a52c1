from __future__ import annotations

import json
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from sqlalchemy import Engine
from tests.registry.conftest import MakeGguf

from lockgate.registry.artifacts import AddOptions, add, list_artifacts
from lockgate.registry.bom import bom_json


def _validate(text: str) -> dict[str, object]:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)
    data = json.loads(text)
    assert data["bomFormat"] == "CycloneDX" and data["specVersion"] == "1.6"
    return dict(data)


def test_bom_of_bundled_and_generated_models_validates(
    bundled_engine: Engine, make_gguf: MakeGguf, tmp_path: Path
) -> None:
    add(bundled_engine, make_gguf("Llama-3.2-11B-Vision-Instruct", "llama3.2", arch="mllama"))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "weights.gguf").write_bytes(b"not really")
    add(bundled_engine, folder, AddOptions(licence="MIT", name="two-files"))
    data = _validate(bom_json(list_artifacts(bundled_engine)))
    components = {c["name"]: c for c in data["components"]}  # type: ignore[attr-defined]

    smol = components["bundled:smollm2"]
    assert smol["type"] == "machine-learning-model"
    assert smol["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert smol["supplier"]["name"] == "Hugging Face"
    assert smol["supplier"]["address"]["country"] == "US"
    assert smol["hashes"][0]["content"] == list_artifacts(bundled_engine)[0].files[0].sha256
    props = {p["name"]: p["value"] for p in smol["properties"]}
    assert props["lockgate:chat_template"].startswith("{% for message in messages %}")
    assert len(props["lockgate:chat_template_sha256"]) == 64
    card = smol["modelCard"]
    assert card["modelParameters"]["architectureFamily"] == "llama"
    card_props = {p["name"]: p["value"] for p in card["properties"]}
    assert card_props["lockgate:quantization"] == "Q4_1"
    assert card_props["lockgate:context_length"] == "8192"

    vision = components["Llama-3.2-11B-Vision-Instruct"]
    assert vision["licenses"] == [{"license": {"name": "LicenseRef-Llama-3.2-Community"}}]
    two = components["two-files"]
    assert "hashes" not in two
    assert sorted(c["name"] for c in two["components"]) == ["config.json", "weights.gguf"]
    assert all(c["hashes"][0]["alg"] == "SHA-256" for c in two["components"])


def test_empty_registry_gives_a_valid_bom() -> None:
    data = _validate(bom_json([]))
    assert data.get("components", []) == []
