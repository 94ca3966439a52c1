"""CycloneDX 1.6 ML-BOM of the registered artifacts (cyclonedx-python-lib).

Each artifact is a ``machine-learning-model`` component with its SHA-256 hashes (one nested
``file`` component per file), licence, supplier and country, and properties carrying the chat
template and its hash.  cyclonedx-python-lib cannot yet emit ``modelCard``; it is added to the
serialised JSON from the same artifact record, and the result is schema-valid 1.6.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType, Pedigree
from cyclonedx.model.contact import OrganizationalEntity, PostalAddress
from cyclonedx.model.license import DisjunctiveLicense
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.spdx import is_supported_id

from lockgate import __version__
from lockgate.registry.records import Artifact

PREFIX = "lockgate:"


def _sha256(content: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=content)


def _licence(art: Artifact) -> list[DisjunctiveLicense]:
    if not art.licence_id:
        return []
    if is_supported_id(art.licence_id):
        return [DisjunctiveLicense(id=art.licence_id)]
    return [DisjunctiveLicense(name=art.licence_id)]


def _supplier(art: Artifact) -> OrganizationalEntity | None:
    if not art.publisher:
        return None
    address = PostalAddress(country=art.publisher_country) if art.publisher_country else None
    return OrganizationalEntity(name=art.publisher, address=address)


def _properties(art: Artifact) -> list[Property]:
    values: dict[str, Any] = {
        "artifact_id": art.id,
        "format": art.format,
        "path": art.path,
        "checkpoint": art.checkpoint,
        "base_model": art.base_model,
        "publisher_country": art.publisher_country,
        "chat_template_sha256": art.chat_template_sha256,
        "chat_template": art.chat_template,
        "signature_status": art.signature_status,
        "scan_status": art.scan_status,
    }
    return [Property(name=PREFIX + k, value=str(v)) for k, v in values.items() if v is not None]


def _lineage(art: Artifact) -> tuple[list[Property], Pedigree | None]:
    """A tuned adapter's lineage (``lockgate tune``): properties, and its base model as ancestor."""
    lineage = art.metadata.get("lineage")
    if not isinstance(lineage, dict):
        return [], None
    base, data = lineage.get("base") or {}, lineage.get("dataset") or {}
    values: dict[str, Any] = {
        "tune_run": lineage.get("tune_run"), "base_model": base.get("name"), "base_sha256": base.get("sha256"),
        "weights_source": base.get("weights_source"), "dataset_sha256": data.get("sha256"),
        "dataset_size_bytes": data.get("size_bytes"), "dataset_examples": data.get("examples"),
        "seed": lineage.get("seed"), "hyper_parameters": lineage.get("hyper_parameters"),
        "libraries": lineage.get("libraries"), "loss_curve": lineage.get("loss_curve"),
        "eval_run_ids": lineage.get("eval_run_ids"), "personal_data_ack": lineage.get("pii_ack"),
    }  # fmt: skip
    props = [
        Property(name=f"{PREFIX}lineage.{k}", value=v if isinstance(v, str) else json.dumps(v))
        for k, v in values.items()
        if v not in (None, [], {})
    ]
    ancestor = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL, name=str(base.get("name") or "base model"),
        bom_ref=f"{art.id}/base", hashes=[_sha256(base["sha256"])] if base.get("sha256") else [],
    )  # fmt: skip
    return props, Pedigree(ancestors=[ancestor], notes=f"LoRA adapter of this base (lockgate tune run "
                                                          f"{lineage.get('tune_run')})")  # fmt: skip


def _component(art: Artifact) -> Component:
    files = [
        Component(
            type=ComponentType.FILE,
            name=f.relpath,
            bom_ref=f"{art.id}/{f.relpath}",
            hashes=[_sha256(f.sha256)],
        )
        for f in art.files
    ]
    refs = (
        [ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(art.source_url))]
        if art.source_url
        else []
    )
    lineage, pedigree = _lineage(art)
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=art.name,
        bom_ref=art.id,
        supplier=_supplier(art),
        publisher=art.publisher,
        hashes=[_sha256(art.files[0].sha256)] if len(art.files) == 1 else [],
        licenses=_licence(art),
        properties=_properties(art) + lineage,
        pedigree=pedigree,
        external_references=refs,
        components=files,
    )


def _model_card(art: Artifact) -> dict[str, Any]:
    params: dict[str, Any] = {"task": "text-generation"}
    if art.architecture:
        params["architectureFamily"] = art.architecture
        params["modelArchitecture"] = art.architecture + (
            f" ({art.quantization})" if art.quantization else ""
        )
    facts = {
        "parameter_count": art.parameter_count,
        "quantization": art.quantization,
        "context_length": art.context_length,
    }
    props = [{"name": PREFIX + k, "value": str(v)} for k, v in facts.items() if v is not None]
    return {"modelParameters": params, "properties": props} if props else {"modelParameters": params}


def build_bom(artifacts: Sequence[Artifact]) -> Bom:
    bom = Bom()
    root = Component(type=ComponentType.APPLICATION, name="lockgate", version=__version__, bom_ref="lockgate")
    bom.metadata.component = root
    models = [_component(a) for a in artifacts]
    for model in models:
        bom.components.add(model)
    bom.register_dependency(root, models)
    return bom


def bom_json(artifacts: Sequence[Artifact]) -> str:
    """The ML-BOM as CycloneDX 1.6 JSON text, model cards included."""
    data = json.loads(JsonV1Dot6(build_bom(artifacts)).output_as_string())
    cards = {a.id: _model_card(a) for a in artifacts}
    for component in data.get("components", []):
        card = cards.get(component.get("bom-ref", ""))
        if card is not None:
            component["modelCard"] = card
    return json.dumps(data, indent=2, ensure_ascii=False)
