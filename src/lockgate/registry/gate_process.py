"""Run the serving gate in a child process.

Hashing, parsing and scanning model files needs heavy libraries (gguf, numpy, picklescan,
Jinja2) and reads untrusted files.  The gateway runs the gate here, in a short-lived
``python -m lockgate.registry.gate_process`` child, so neither the memory those libraries
take nor any parser bug ever reaches the serving process.

Protocol: a JSON request on stdin; exit 0 when the artifact may be served, 3 with the
refusal message on stderr when the gate refuses, 4 on any other failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import GateRefused, RegistryError

REFUSED, FAILED = 3, 4


def run_gate(request: dict[str, Any]) -> None:
    from lockgate.registry.adapters import check_adapter
    from lockgate.registry.bundled import bundled_model_path, ensure_bundled_registered
    from lockgate.registry.gate import check_servable
    from lockgate.storage.db import open_store

    store = open_store(request["storage_url"])
    path = Path(request["model_path"])
    if path.resolve() == bundled_model_path().resolve():
        ensure_bundled_registered(store)
    operator = OperatorConfig.model_validate(request["operator"])
    acks, verify = list(request["acknowledge"]), bool(request["verify_hashes"])
    base = check_servable(store, path, operator, acks, verify_hashes=verify)
    for adapter in request.get("adapters", []):  # LoRA adapters served on this base model
        check_adapter(store, Path(adapter), base.artifact, operator, acks, verify_hashes=verify)


def check_in_child(
    storage_url: str, model_path: Path, operator: OperatorConfig, acknowledge: list[str], verify_hashes: bool,
    adapters: Sequence[Path] = (),
) -> None:  # fmt: skip
    """Raise ``GateRefused`` with the gate's own message when the child refuses (``adapters``:
    LoRA adapters to be served on the model, each checked like a model and against it)."""
    request = {
        "storage_url": storage_url,
        "model_path": str(model_path),
        "operator": operator.model_dump(),
        "acknowledge": acknowledge,
        "verify_hashes": verify_hashes,
        "adapters": [str(a) for a in adapters],
    }
    done = subprocess.run(
        [sys.executable, "-m", "lockgate.registry.gate_process"],
        input=json.dumps(request), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode == 0:
        return
    message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}"
    if done.returncode == REFUSED:
        raise GateRefused(message)
    raise GateRefused(f"the serving gate could not check {model_path}: {message}")


def main() -> None:
    try:
        run_gate(json.loads(sys.stdin.read()))
    except GateRefused as exc:
        print(" ".join(str(exc).split("\n")), file=sys.stderr)
        sys.exit(REFUSED)
    except (RegistryError, OSError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(FAILED)


if __name__ == "__main__":
    main()
