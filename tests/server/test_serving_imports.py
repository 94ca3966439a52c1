"""The serving process loads only what the request path needs: model-file readers (gguf, and with
it numpy), scanners, the bill-of-materials library and ML stacks load on first use, in the
commands and admin routes that need them.  (Importing them at start-up cost the gateway about
20 MB of resident memory per worker.)"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "gguf", "cyclonedx", "picklescan", "jinja2", "llama_cpp", "openai", "torch",
         "transformers", "presidio_analyzer", "spacy")  # fmt: skip


def test_the_gateway_modules_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "import lockgate.cli, lockgate.cli.serve, lockgate.server.app, lockgate.server.assemble\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"loaded at start-up: {out.stdout.strip()}"


def test_the_check_sees_a_heavy_import() -> None:
    code = f"import sys, gguf\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "numpy" in out.stdout and "gguf" in out.stdout
