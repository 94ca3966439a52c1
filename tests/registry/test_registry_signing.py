from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine
from tests.registry.conftest import write_gguf

from lockgate.registry.artifacts import AddOptions, add
from lockgate.registry.config import OperatorConfig
from lockgate.registry.gate import GateRefused, check_servable
from lockgate.registry.signing import SIGNATURE_NAME, check_signature

pytest.importorskip("model_signing")


def _keypair(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = folder / f"{name}.pem"
    public = folder / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    """A generated model folder signed with a local EC key (the library's key-based signing)."""
    from model_signing import hashing, signing

    folder = tmp_path / "signed-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    write_gguf(folder / "weights.gguf", "SmolLM2-135M", "apache-2.0")
    private, public = _keypair(tmp_path, "publisher")
    hashing_type: Any = hashing.Config
    signing_type: Any = signing.Config
    hashing_config = hashing_type().set_ignored_paths(paths=[SIGNATURE_NAME])
    config = signing_type().use_elliptic_key_signer(private_key=private).set_hashing_config(hashing_config)
    config.sign(folder, folder / SIGNATURE_NAME)
    return folder, public


def test_signature_verifies_with_the_publishers_key(signed: tuple[Path, Path]) -> None:
    folder, public = signed
    result = check_signature(folder, [public])
    assert result.status == "verified", result.detail


def test_tampered_file_fails_verification(signed: tuple[Path, Path]) -> None:
    folder, public = signed
    (folder / "weights.gguf").write_bytes(b"swapped")
    result = check_signature(folder, [public])
    assert result.status == "failed"
    assert "weights.gguf" in result.detail


def test_wrong_key_fails_and_missing_key_or_signature_is_recorded(
    signed: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _public = signed
    _private, other = _keypair(tmp_path, "stranger")
    assert check_signature(folder, [other]).status == "failed"
    assert check_signature(folder).status == "present-unverified"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert check_signature(plain, [other]).status == "absent"


def test_registration_records_the_result_and_gate_refuses_a_failed_signature(
    reg_engine: Engine, signed: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, public = signed
    art = add(reg_engine, folder, AddOptions(licence="Apache-2.0", public_keys=[public]))
    assert art.signature_status == "verified"
    assert SIGNATURE_NAME in {f.relpath for f in art.files}
    check_servable(reg_engine, folder, OperatorConfig(), [])

    _private, other = _keypair(tmp_path, "stranger")
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    bad = add(reg_engine, copy, AddOptions(licence="Apache-2.0", name="copy", public_keys=[other]))
    assert bad.signature_status == "failed"
    with pytest.raises(GateRefused, match="signature failed verification"):
        check_servable(reg_engine, copy, OperatorConfig(), [])
