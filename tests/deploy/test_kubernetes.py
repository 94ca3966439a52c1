"""deploy/kubernetes validates offline and holds together.

Every manifest is validated against the Kubernetes JSON schemas shipped by the pinned
``kubernetes-validate`` (strict: an unknown field is an error) for the oldest and the newest
Kubernetes minor we state support for; the ServiceMonitor, a Prometheus Operator CRD with no
schema in that package, against ``servicemonitor.schema.json`` (written from the CRD's
documented fields).  The names manifests use resolve, the gateway's config passes
``lockgate config check`` in the Deployment's environment, and the probe and scrape paths answer
200 without a key on a running gateway.  Each check is also shown to catch a broken copy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from tests.deploy.kube_checks import (
    KUBE,
    Doc,
    applied_files,
    config_problems,
    config_text,
    gateway,
    label,
    load_documents,
    reference_problems,
    schema_problems,
)
from tests.support.gateway import running_gateway

VERSIONS = ("1.29.0", "1.37.0")  # oldest and newest minor we state support for (docs/deploy.md)
EXAMPLES = ["secret.example.yaml"]  # what the operator creates: the Secrets, with their keys
ALL_FILES = sorted(p.name for p in KUBE.glob("*.yaml") if p.name != "kustomization.yaml")
CPU = applied_files() + EXAMPLES
GPU = [f for f in applied_files() if f != "engine.yaml"] + ["engine-vllm.yaml", *EXAMPLES]


def manifests() -> list[Any]:
    return [
        pytest.param(doc, id=f"{name}:{label(doc)}") for name in ALL_FILES for doc in load_documents([name])
    ]


def test_kustomization_lists_every_manifest_but_the_examples_and_variants() -> None:
    applied = applied_files()
    assert sorted(applied + EXAMPLES + ["engine-vllm.yaml"]) == ALL_FILES
    images = {i["name"] for i in yaml.safe_load((KUBE / "kustomization.yaml").read_text())["images"]}
    used = {c["image"] for d in load_documents(CPU) if d["kind"] == "Deployment"
            for c in d["spec"]["template"]["spec"]["containers"] + d["spec"]["template"]["spec"].get("initContainers", [])}  # fmt: skip
    assert "lockgate" in images and "lockgate" in used


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("doc", manifests())
def test_manifest_validates_against_the_schema(doc: Doc, version: str) -> None:
    if doc["kind"] == "ServiceMonitor":
        print("ServiceMonitor: validated against tests/deploy/servicemonitor.schema.json, hand-written from the "
              "CRD's documented fields (the operator's CRD schema is not packaged)")  # fmt: skip
    assert schema_problems(doc, version) == []


@pytest.mark.parametrize("files", [CPU, GPU], ids=["llama.cpp", "vllm"])
def test_every_name_a_manifest_uses_is_defined(files: list[str]) -> None:
    assert reference_problems(load_documents(files)) == []


def test_gateway_config_checks_in_the_deployments_environment(tmp_path: Path) -> None:
    assert config_problems(load_documents(CPU), tmp_path) == []


def probe_paths(docs: list[Doc]) -> list[str]:
    _, container = gateway(docs)
    paths = [container[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")]
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    return paths + [ep["path"] for ep in monitor["spec"]["endpoints"]]


async def answers(paths: list[str], tmp_path: Path) -> dict[str, int]:
    """The status a gateway with keys required gives each path, asked without a key (as the
    kubelet and Prometheus ask)."""
    cfg = yaml.safe_load(config_text(load_documents(CPU)))
    own = {"auth": {"mode": "keys"}, "models": {}, "providers": {},
           "storage": {"url": f"sqlite:///{tmp_path / 'store.db'}"}}  # fmt: skip
    cfg = {k: v for k, v in cfg.items() if k in ("operator", "limits")} | own
    async with running_gateway(cfg, tmp_path) as (base, _), aiohttp.ClientSession() as http:
        got = {}
        for path in paths:
            async with http.get(base + path) as r:
                got[path] = r.status
        return got


async def test_probe_and_scrape_paths_answer_without_a_key(tmp_path: Path) -> None:
    paths = probe_paths(load_documents(CPU))
    assert set(paths) == {"/healthz", "/readyz", "/metrics"}
    assert await answers(paths, tmp_path) == dict.fromkeys(paths, 200)


# -- the checks catch what they are for -----------------------------------------------------


def broken(files: list[str], change: Callable[[list[Doc]], None]) -> list[Doc]:
    docs = copy.deepcopy(load_documents(files))
    change(docs)
    return docs


def _find(docs: list[Doc], kind: str, name: str) -> Doc:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _gateway_container(docs: list[Doc]) -> Doc:
    return gateway(docs)[1]


SCHEMA_BREAKS: dict[str, tuple[Callable[[list[Doc]], Doc], str]] = {
    "misspelt field": (lambda d: _set(_gateway_container(d), "imagePulPolicy", "Always"), "imagePulPolicy"),
    "wrong type": (lambda d: _set(_find(d, "Deployment", "lockgate")["spec"], "replicas", "three"), "three"),
    "probe without handler port": (
        lambda d: _set(_gateway_container(d)["livenessProbe"], "httpGet", {"path": "/healthz"}),
        "port",
    ),
    "monitor interval without unit": (
        lambda d: _set(_find(d, "ServiceMonitor", "lockgate")["spec"]["endpoints"][0], "interval", "30"),
        "does not match",
    ),
    "monitor unknown field": (
        lambda d: _set(_find(d, "ServiceMonitor", "lockgate")["spec"], "endpoint", []),
        "endpoint",
    ),
}


def _set(target: Doc, key: str, value: Any) -> Doc:
    target[key] = value
    return target


@pytest.mark.parametrize("what", SCHEMA_BREAKS)
def test_schema_check_catches(what: str) -> None:
    change, expected = SCHEMA_BREAKS[what]
    docs = copy.deepcopy(load_documents(CPU))
    change(docs)
    problems = [p for doc in docs for p in schema_problems(doc, VERSIONS[-1])]
    assert problems and any(expected in p for p in problems), problems


REFERENCE_BREAKS: dict[str, tuple[Callable[[list[Doc]], Any], str]] = {
    "secret key missing": (
        lambda d: _gateway_container(d)["env"][1]["valueFrom"]["secretKeyRef"].update(key="pg"),
        "has no key 'pg'",
    ),
    "configmap renamed": (
        lambda d: _set(_find(d, "ConfigMap", "lockgate-config")["metadata"], "name", "cfg"),
        "no ConfigMap named 'lockgate-config'",
    ),
    "service selects nothing": (
        lambda d: _find(d, "Service", "lockgate")["spec"]["selector"].update(
            {"app.kubernetes.io/component": "gw"}
        ),
        "matches no Deployment",
    ),
    "probe on an undeclared port": (
        lambda d: _gateway_container(d)["readinessProbe"]["httpGet"].update(port="web"),
        "does not declare",
    ),
    "monitor on a missing port": (
        lambda d: _find(d, "ServiceMonitor", "lockgate")["spec"]["endpoints"][0].update(port="metrics"),
        "is no port",
    ),
    "pdb selects nothing": (
        lambda d: _find(d, "PodDisruptionBudget", "lockgate")["spec"]["selector"]["matchLabels"].update(
            {"app.kubernetes.io/name": "other"}
        ),
        "matches no Deployment",
    ),
}


@pytest.mark.parametrize("what", REFERENCE_BREAKS)
def test_reference_check_catches(what: str) -> None:
    change, expected = REFERENCE_BREAKS[what]
    problems = reference_problems(broken(CPU, change))
    assert any(expected in p for p in problems), problems


def _config(docs: list[Doc], old: str, new: str) -> None:
    cm = _find(docs, "ConfigMap", "lockgate-config")
    assert old in cm["data"]["lockgate.yaml"]
    cm["data"]["lockgate.yaml"] = cm["data"]["lockgate.yaml"].replace(old, new)


CONFIG_BREAKS: dict[str, tuple[Callable[[list[Doc]], Any], str]] = {
    "variable the pod lacks": (
        lambda d: _config(d, "${LOCKGATE_MISTRAL_KEY}", "${LOCKGATE_EU_KEY}"),
        "needs ${LOCKGATE_EU_KEY}",
    ),
    "unknown setting": (lambda d: _config(d, "reload_interval:", "reload_every:"), "reload_every"),
    "state on the read-only root": (
        lambda d: _config(d, "data_dir: /var/lib/lockgate", "data_dir: /srv/lockgate"),
        "data_dir /srv/lockgate",
    ),
    "signing key not mounted": (
        lambda d: _config(d, "/etc/lockgate-signing/", "/etc/keys/"),
        "on no mounted Secret",
    ),
    "engine service misnamed": (
        lambda d: _config(d, "http://lockgate-engine:8080", "http://engine:8080"),
        "names no Service port",
    ),
}


@pytest.mark.parametrize("what", CONFIG_BREAKS)
def test_config_check_catches(what: str, tmp_path: Path) -> None:
    change, expected = CONFIG_BREAKS[what]
    problems = config_problems(broken(CPU, change), tmp_path)
    assert any(expected in p for p in problems), problems


async def test_a_probe_path_that_is_no_route_is_caught(tmp_path: Path) -> None:
    assert await answers(["/ready", "/healthz"], tmp_path) == {"/ready": 404, "/healthz": 200}
