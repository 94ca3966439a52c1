"""Install what the benchmark needs, once: nginx and wrk from Debian, LiteLLM and py-spy in venvs.

LiteLLM lives in its own virtual environment under ``bench/.work`` and never touches lockgate's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lockbench.procs import BenchError

# The newest LiteLLM whose ``[proxy]`` extra resolves from PyPI as of this writing: 1.108.6 and
# later pin litellm-enterprise / litellm-proxy-extras / litellm-proxy releases that PyPI does not serve.
LITELLM_SPEC = "litellm[proxy]==1.108.5"
PYSPY_SPEC = "py-spy==0.4.3"
APT_PACKAGES = {"nginx": "nginx-light", "wrk": "wrk"}


def _run(argv: list[str], what: str, timeout: float = 900) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-600:]
        raise BenchError(f"{what}: '{' '.join(argv)}' failed with exit code {done.returncode}:\n{tail}")


def _have(tool: str) -> bool:
    return shutil.which(tool) is not None or shutil.which(tool, path="/usr/sbin:/usr/local/sbin") is not None


def ensure_system_tools(log: bool = True) -> None:
    """apt-get install nginx-light and wrk when either is missing."""
    missing = [pkg for tool, pkg in APT_PACKAGES.items() if not _have(tool)]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise BenchError(f"{', '.join(missing)}: missing and apt-get is not available; install them by hand")
    if log:
        print(f"installing {' '.join(missing)} with apt-get …", flush=True)
    _run(["apt-get", "update", "-qq"], "apt-get update")
    _run(["apt-get", "install", "-y", "-qq", *missing], "apt-get install")


def _venv(path: Path, spec: str, marker: str) -> Path:
    """A cached venv at ``path`` holding ``spec``; returns its bin directory."""
    stamp = path / ".installed"
    bin_dir = path / "bin"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == spec and (bin_dir / marker).exists():
        return bin_dir
    print(f"installing {spec} into {path} (cached for later runs) …", flush=True)
    if not (bin_dir / "python").exists():
        _run([sys.executable, "-m", "venv", str(path)], f"venv {path}")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", spec], f"pip install {spec}")
    if not (bin_dir / marker).exists():
        raise BenchError(f"{spec}: installed, but {bin_dir / marker} is missing")
    stamp.write_text(spec, encoding="utf-8")
    return bin_dir


def ensure_litellm(work: Path) -> Path:
    """Path of the ``litellm`` command in ``bench/.work/litellm-venv``."""
    return _venv(work / "litellm-venv", LITELLM_SPEC, "litellm") / "litellm"


def ensure_pyspy(work: Path) -> Path:
    """Path of ``py-spy`` in ``bench/.work/tools-venv``."""
    return _venv(work / "tools-venv", PYSPY_SPEC, "py-spy") / "py-spy"


# llama-cpp-python's ``[server]`` extra, without reinstalling (and recompiling) llama-cpp-python
LLAMA_SERVER_DEPS = ("uvicorn>=0.22.0", "fastapi>=0.100.0", "pydantic-settings>=2.0.1", "sse-starlette>=1.6.1",
                     "starlette-context>=0.3.6,<0.4")  # fmt: skip


def ensure_llama_cpp_server() -> None:
    """Install what ``python -m llama_cpp.server`` imports into the running interpreter's
    environment (lockgate's venv): the peer a user would otherwise pick for the engine."""
    from importlib.util import find_spec

    if all(find_spec(m) is not None for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context")):
        return
    print("installing llama-cpp-python's server dependencies (fastapi, uvicorn, …) …", flush=True)
    _run(
        [sys.executable, "-m", "pip", "install", "-q", *LLAMA_SERVER_DEPS],
        "pip install llama_cpp.server deps",
    )
