"""Fixtures for the model registry: a fresh store, small generated GGUFs, the real bundled model."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import gguf
import numpy as np
import pytest
from sqlalchemy import Engine

from lockgate.registry.bundled import ensure_bundled_registered
from lockgate.storage.db import open_store

MakeGguf = Callable[..., Path]


@pytest.fixture
def reg_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'registry.db'}")
    yield engine
    engine.dispose()


def write_gguf(
    path: Path,
    name: str,
    licence: str | None = None,
    *,
    arch: str = "llama",
    template: str = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}",
    extra: dict[str, str] | None = None,
) -> Path:
    """A tiny valid GGUF: a few metadata keys and one 4x8 tensor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_name(name)
    if licence:
        writer.add_string("general.license", licence)
    for key, value in (extra or {}).items():
        writer.add_string(key, value)
    writer.add_context_length(4096)
    writer.add_file_type(int(gguf.LlamaFileType.MOSTLY_F16))
    writer.add_chat_template(template)
    writer.add_tensor("token_embd.weight", np.arange(32, dtype=np.float32).reshape(4, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def make_gguf(tmp_path: Path) -> MakeGguf:
    def make(name: str, licence: str | None = None, filename: str | None = None, **kw: object) -> Path:
        target = tmp_path / "models" / (filename or f"{name}.gguf")
        return write_gguf(target, name, licence, **kw)  # type: ignore[arg-type]

    return make


class _RunsShell:
    """Pickling this object records a call to os.system; the tests never unpickle it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


@pytest.fixture
def evil_pickle(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "evil.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3], "hook": _RunsShell()}))
    return path


@pytest.fixture(scope="session")
def bundled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file in which the real bundled model is registered once per session (slow: hash + scan)."""
    path = tmp_path_factory.mktemp("bundled") / "lockgate.db"
    engine = open_store(f"sqlite:///{path}")
    ensure_bundled_registered(engine)
    engine.dispose()
    return path


@pytest.fixture
def bundled_engine(bundled_db: Path, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the store with the bundled model registered."""
    copy = tmp_path / "bundled-copy.db"
    shutil.copyfile(bundled_db, copy)
    engine = open_store(f"sqlite:///{copy}")
    yield engine
    engine.dispose()
