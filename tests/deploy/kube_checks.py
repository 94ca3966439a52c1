"""Checks over deploy/kubernetes, each returning the problems it found (empty: none).

``schema_problems`` validates one manifest offline: Kubernetes' own kinds against the JSON
schemas that ``kubernetes-validate`` ships (strict: unknown fields are errors), the
ServiceMonitor against ``servicemonitor.schema.json`` beside this file.  ``reference_problems``
follows every name one manifest uses to the manifest that defines it (Secrets and their keys,
ConfigMaps, volumes, named ports, selectors).  ``config_problems`` checks the gateway's
lockgate.yaml against the Deployment that runs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import yaml
from click.testing import CliRunner

from lockgate.cli import cli

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
SERVICEMONITOR_SCHEMA = json.loads((Path(__file__).parent / "servicemonitor.schema.json").read_text())
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
Doc = dict[str, Any]


def load_documents(names: list[str]) -> list[Doc]:
    docs: list[Doc] = []
    for name in names:
        docs += [d for d in yaml.safe_load_all((KUBE / name).read_text()) if d]
    return docs


def applied_files() -> list[str]:
    return [str(r) for r in yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"]]


def label(doc: Doc) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


# -- schemas --------------------------------------------------------------------------------


def schema_problems(doc: Doc, version: str) -> list[str]:
    if doc.get("apiVersion") == "monitoring.coreos.com/v1":
        validator = jsonschema.Draft202012Validator(SERVICEMONITOR_SCHEMA)
        return [
            f"{label(doc)}: {'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)
        ]
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{label(doc)} (Kubernetes {version}): {'.'.join(map(str, exc.path))}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{label(doc)}: {exc.message}"]
    return []


# -- references -----------------------------------------------------------------------------


def _named(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def _secret_keys(secret: Doc) -> set[str]:
    return set(secret.get("stringData") or {}) | set(secret.get("data") or {})


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_containers(pod: Doc) -> Iterator[Doc]:
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def _env_problems(where: str, container: Doc, docs: list[Doc]) -> Iterator[str]:
    secrets, maps = _named(docs, "Secret"), _named(docs, "ConfigMap")
    for env in container.get("env", []):
        source = env.get("valueFrom", {})
        for ref_kind, found in (("secretKeyRef", secrets), ("configMapKeyRef", maps)):
            ref = source.get(ref_kind)
            if ref is None:
                continue
            target = found.get(ref["name"])
            keys = (
                _secret_keys(target)
                if ref_kind == "secretKeyRef" and target
                else (target or {}).get("data", {})
            )
            if target is None:
                yield f"{where}: env {env['name']}: no {ref_kind[:-6]} named {ref['name']!r}"
            elif ref["key"] not in keys:
                yield f"{where}: env {env['name']}: {ref['name']!r} has no key {ref['key']!r}"


def _volume_problems(where: str, pod: Doc, docs: list[Doc]) -> Iterator[str]:
    secrets, maps, claims = (
        _named(docs, "Secret"),
        _named(docs, "ConfigMap"),
        _named(docs, "PersistentVolumeClaim"),
    )
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for v in volumes.values():
        if "secret" in v and v["secret"]["secretName"] not in secrets:
            yield f"{where}: volume {v['name']}: no Secret named {v['secret']['secretName']!r}"
        if "configMap" in v and v["configMap"]["name"] not in maps:
            yield f"{where}: volume {v['name']}: no ConfigMap named {v['configMap']['name']!r}"
        if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in claims:
            yield f"{where}: volume {v['name']}: no PersistentVolumeClaim {v['persistentVolumeClaim']['claimName']!r}"
    for c in pod_containers(pod):
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                yield f"{where}: container {c['name']}: mounts an undeclared volume {m['name']!r}"


def _probe_problems(where: str, pod: Doc) -> Iterator[str]:
    for c in pod_containers(pod):
        ports = {p.get("name") for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if port is not None and port not in ports:
                yield f"{where}: container {c['name']}: {probe} uses port {port!r}, which it does not declare"


def _service_problems(docs: list[Doc]) -> Iterator[str]:
    pods = [d["spec"]["template"] for d in docs if d.get("kind") == "Deployment"]
    for svc in _named(docs, "Service").values():
        selected = [p for p in pods if _selects(svc["spec"].get("selector", {}), p["metadata"]["labels"])]
        if not selected:
            yield f"{label(svc)}: its selector matches no Deployment's pods"
        names = {
            p.get("name") for pod in selected for c in pod["spec"]["containers"] for p in c.get("ports", [])
        }
        for port in svc["spec"]["ports"]:
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in names:
                yield f"{label(svc)}: targetPort {port['targetPort']!r} is no container port of its pods"
    for pdb in _named(docs, "PodDisruptionBudget").values():
        if not any(_selects(pdb["spec"]["selector"]["matchLabels"], p["metadata"]["labels"]) for p in pods):
            yield f"{label(pdb)}: its selector matches no Deployment's pods"


def _monitor_problems(docs: list[Doc]) -> Iterator[str]:
    services = list(_named(docs, "Service").values())
    for sm in _named(docs, "ServiceMonitor").values():
        chosen = [
            s for s in services if _selects(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
        ]
        if not chosen:
            yield f"{label(sm)}: its selector matches no Service"
        port_names = {p.get("name") for s in chosen for p in s["spec"]["ports"]}
        for ep in sm["spec"].get("endpoints", []):
            if ep.get("port") not in port_names:
                yield f"{label(sm)}: endpoint port {ep.get('port')!r} is no port of the Services it selects"


def reference_problems(docs: list[Doc]) -> list[str]:
    found: list[str] = []
    for dep in _named(docs, "Deployment").values():
        pod, where = dep["spec"]["template"]["spec"], label(dep)
        if not _selects(
            dep["spec"]["selector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"]
        ):
            found.append(f"{where}: its selector does not match its own pod template")
        for c in pod_containers(pod):
            found += _env_problems(where, c, docs)
        found += _volume_problems(where, pod, docs)
        found += _probe_problems(where, pod)
    found += _service_problems(docs)
    found += _monitor_problems(docs)
    return found


# -- the gateway's config -------------------------------------------------------------------


def gateway(docs: list[Doc]) -> tuple[Doc, Doc]:
    """(the gateway's pod spec, its container)."""
    pod = _named(docs, "Deployment")["lockgate"]["spec"]["template"]["spec"]
    return pod, next(c for c in pod["containers"] if c["name"] == "gateway")


def config_text(docs: list[Doc]) -> str:
    return str(_named(docs, "ConfigMap")["lockgate-config"]["data"]["lockgate.yaml"])


def _mount_of(pod: Doc, container: Doc, path: str) -> Doc | None:
    """The volume a path lies on in ``container`` (the deepest mount above it)."""
    mounts = [
        m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")
    ]
    if not mounts:
        return None
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    return next(v for v in pod["volumes"] if v["name"] == mount["name"])


def config_problems(docs: list[Doc], tmp_path: Path) -> list[str]:
    """The ConfigMap's lockgate.yaml passes `lockgate config check` in the Deployment's environment,
    needs no variable that environment lacks, keeps state on a writable volume, reads its signing
    key from a mounted Secret key, and reaches in-cluster providers through existing Services."""
    pod, container = gateway(docs)
    text, env_names = config_text(docs), {e["name"] for e in container.get("env", [])}
    found = [f"lockgate.yaml needs ${{{name}}}, which the gateway container does not set"
             for name, default in ENV_REF.findall(text) if not default and name not in env_names]  # fmt: skip
    path = tmp_path / "lockgate.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["config", "check", str(path)], env=dict.fromkeys(env_names, "x"))
    if result.exit_code != 0:
        found.append(f"lockgate config check: {result.output.strip()}")
    cfg = yaml.safe_load(text)
    data = _mount_of(pod, container, cfg["data_dir"] + "/x")
    if data is None or "emptyDir" not in data:
        found.append(
            f"data_dir {cfg['data_dir']} is not on a writable emptyDir (the root filesystem is read-only)"
        )
    key_path = Path(cfg["audit"]["signing_key"])
    signing = _mount_of(pod, container, str(key_path))
    secrets = _named(docs, "Secret")
    if signing is None or "secret" not in signing:
        found.append(f"audit.signing_key {key_path} is on no mounted Secret")
    elif key_path.name not in _secret_keys(secrets.get(signing["secret"]["secretName"], {})):
        found.append(
            f"audit.signing_key: Secret {signing['secret']['secretName']!r} has no key {key_path.name!r}"
        )
    found += _provider_problems(cfg, docs)
    return found


def _provider_problems(cfg: Doc, docs: list[Doc]) -> Iterator[str]:
    services = _named(docs, "Service")
    for name, provider in cfg.get("providers", {}).items():
        url = urlsplit(str(provider.get("base_url", "")))
        host = url.hostname or ""
        if "." in host or not host:  # outside the cluster (or a local engine)
            continue
        ports = {p["port"] for p in services.get(host, {}).get("spec", {}).get("ports", [])}
        if url.port not in ports:
            yield f"provider {name}: {url.geturl()} names no Service port ({host}:{url.port})"
