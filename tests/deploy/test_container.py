"""deploy/Containerfile and the files around it, checked without building the image.

Building the image needs a container builder and compiles llama.cpp (docs/deploy.md says why CI
does not).  What can be checked here is: every stage is Debian, the final stage runs as the
unprivileged user the Kubernetes manifests expect, every file it copies exists and is let
through by its ignore file, the config it bakes in passes ``lockgate config check``, and it
serves on the port the manifests probe.
"""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from tests.deploy.kube_checks import ENV_REF, ROOT, gateway, load_documents

from lockgate.cli import cli

CONTAINERFILE = ROOT / "deploy" / "Containerfile"
IGNORE = ROOT / "deploy" / "Containerfile.dockerignore"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = text.replace("\\\n", " ")
    lines = [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines]


def let_through(path: str) -> bool:
    """Whether the ignore file (docker's syntax: later lines win, ! re-includes) keeps ``path``."""
    kept = True
    for raw in IGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate, pattern = line.startswith("!"), line.lstrip("!")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/"):
            kept = negate
    return kept


def final_stage(text: str) -> list[tuple[str, str]]:
    steps = instructions(text)
    start = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[start:]


def containerfile_problems(text: str) -> list[str]:
    found: list[str] = []
    steps, last = instructions(text), final_stage(text)
    for op, args in steps:
        image = args.split()[0] if op == "FROM" else ""
        if op == "FROM" and not image.startswith("docker.io/library/debian:"):
            found.append(f"FROM {image}: not a Debian image")
        if op == "COPY" and not args.startswith("--from"):
            *sources, _ = shlex.split(args)
            found += [f"COPY {s}: not in the repository" for s in sources if not (ROOT / s).exists()]
            found += [f"COPY {s}: excluded by {IGNORE.name}" for s in sources if not let_through(s)]
    users = [args for op, args in last if op == "USER"]
    uid = users[-1].split(":")[0] if users else "0"
    _, container = gateway(load_documents(["gateway.yaml"]))
    pod = load_documents(["gateway.yaml"])[0]["spec"]["template"]["spec"]
    if not uid.isdigit() or int(uid) == 0 or int(uid) != pod["securityContext"]["runAsUser"]:
        found.append(
            f"USER {uid}: the final stage must run as runAsUser {pod['securityContext']['runAsUser']}"
        )
    entry = [args for op, args in last if op in ("ENTRYPOINT", "CMD")]
    if len(entry) != 2 or yaml.safe_load(entry[0]) != ["lockgate"] or yaml.safe_load(entry[1])[0] != "serve":
        found.append("the image must run `lockgate serve` (ENTRYPOINT lockgate, CMD serve …)")
    exposed = {args for op, args in last if op == "EXPOSE"}
    if {str(p["containerPort"]) for p in container["ports"]} != exposed:
        found.append(f"EXPOSE {exposed}: not the port the manifests probe")
    return found


def baked_config(text: str) -> str:
    """The destination of the config the image copies in, which its CMD must read."""
    cmd = yaml.safe_load(next(args for op, args in final_stage(text) if op == "CMD"))
    return str(cmd[cmd.index("-c") + 1])


def test_containerfile_is_debian_non_root_and_copies_what_exists() -> None:
    assert containerfile_problems(CONTAINERFILE.read_text()) == []


def test_the_baked_in_config_is_the_one_the_image_runs_and_it_checks(tmp_path: Path) -> None:
    text = CONTAINERFILE.read_text()
    copies = {shlex.split(args)[-1]: shlex.split(args)[0] for op, args in final_stage(text) if op == "COPY"
              and not args.startswith("--from")}  # fmt: skip
    source = ROOT / copies[baked_config(text)]
    config = source.read_text()
    env = {name: "x" for name, default in ENV_REF.findall(config) if not default}
    assert env == {"LOCKGATE_ADMIN_KEY": "x"}  # the only thing `podman run` must be told
    result = CliRunner().invoke(cli, ["config", "check", str(source)], env=env)
    assert result.exit_code == 0, result.output
    missing = CliRunner().invoke(cli, ["config", "check", str(source)], env={"LOCKGATE_ADMIN_KEY": None})
    assert missing.exit_code != 0 and "LOCKGATE_ADMIN_KEY is not set" in missing.output


BREAKS = {
    "root user": (("USER 10001:10001", "USER root"), "USER root"),
    "other base": (("FROM docker.io/library/debian:bookworm-slim\n", "FROM alpine:3\n"), "alpine:3"),
    "missing source": (("COPY src ./src", "COPY srcs ./src"), "COPY srcs: not in the repository"),
    "ignored source": (("COPY src ./src", "COPY examples ./examples"), "excluded by"),
    "other command": (('CMD ["serve"', 'CMD ["drill"'), "lockgate serve"),
    "other port": (("EXPOSE 8080", "EXPOSE 9000"), "EXPOSE"),
}


@pytest.mark.parametrize("what", BREAKS)
def test_containerfile_check_catches(what: str) -> None:
    (old, new), expected = BREAKS[what]
    text = CONTAINERFILE.read_text()
    assert old in text
    problems = containerfile_problems(text.replace(old, new))
    assert any(expected in p for p in problems), problems
