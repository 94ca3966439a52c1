"""deploy/fleet's nginx template, rendered the way deploy/fleet/run.sh renders it."""

from __future__ import annotations

import os
import pwd
import re
import shutil
from pathlib import Path

FLEET = Path(__file__).resolve().parents[2] / "deploy" / "fleet"
PLACEHOLDER = re.compile(r"@[A-Z0-9]+@")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def render_nginx(
    prefix: Path, listen: int, ports: list[int], workers: str = "1", template: str | None = None
) -> Path:
    """nginx.conf under ``prefix`` (unprivileged: every path it writes is there) for nginx on
    ``listen`` in front of instances on ``ports``; returns its path."""
    values = {"@USER@": pwd.getpwuid(os.getuid()).pw_name, "@WORKERS@": workers, "@PREFIX@": str(prefix),
              "@LISTEN@": f"127.0.0.1:{listen}"}  # fmt: skip
    values.update({f"@PORT{i + 1}@": str(port) for i, port in enumerate(ports)})
    text = template if template is not None else (FLEET / "nginx.conf.in").read_text()
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    left = PLACEHOLDER.findall(text)
    if left:
        raise ValueError(f"nginx.conf.in: placeholders left unfilled: {sorted(set(left))}")
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def nginx_argv(binary: str, conf: Path, *extra: str) -> list[str]:
    prefix = conf.parent
    return [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"), *extra]
