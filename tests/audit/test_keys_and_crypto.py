from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from pydantic import SecretStr, ValidationError

from lockgate.audit.config import AuditConfig
from lockgate.audit.crypto import ContentCipher
from lockgate.audit.dates import parse_when
from lockgate.audit.signing import (
    checkpoint_message,
    load_or_create_key,
    load_public_pem,
    public_pem,
    signature_valid,
)


def test_key_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "d" / "audit-signing.key"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_key(path)
    assert first.key_id == again.key_id and len(first.key_id) == 16


def test_signatures_verify_only_for_the_exact_message(tmp_path: Path) -> None:
    signer = load_or_create_key(tmp_path / "k")
    msg = checkpoint_message("main", 10, "ab" * 32, 1.5, signer.key_id, "periodic")
    sig = signer.sign(msg)
    pub = load_public_pem(public_pem(signer.public))
    assert signature_valid(pub, sig, msg)
    assert not signature_valid(
        pub, sig, checkpoint_message("main", 11, "ab" * 32, 1.5, signer.key_id, "periodic")
    )
    assert not signature_valid(
        pub, sig, checkpoint_message("main", 10, "ab" * 32, 1.5, signer.key_id, "anchor")
    )
    assert not signature_valid(pub, "zz", msg)


def test_non_ed25519_key_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ec.key"
    key = generate_private_key(SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        load_or_create_key(path)
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        load_public_pem(pub)


def test_content_round_trip_and_binding() -> None:
    c = ContentCipher("operator key")
    blob = c.encrypt(b"prompt text", "req-1", "request_body")
    assert b"prompt text" not in blob and blob[0] == 1
    assert c.decrypt(blob, "req-1", "request_body") == b"prompt text"
    assert c.encrypt(b"prompt text", "req-1", "request_body") != blob  # fresh nonce
    with pytest.raises(InvalidTag):
        c.decrypt(blob, "req-2", "request_body")  # moved to another record
    with pytest.raises(InvalidTag):
        c.decrypt(blob, "req-1", "response_body")
    with pytest.raises(InvalidTag):
        ContentCipher("other").decrypt(blob, "req-1", "request_body")
    with pytest.raises(ValueError, match="unknown encrypted body format"):
        c.decrypt(b"\x02" + blob[1:], "req-1", "request_body")
    with pytest.raises(ValueError, match="must not be empty"):
        ContentCipher("")


def test_content_logging_requires_a_key() -> None:
    with pytest.raises(ValidationError, match="content_key: required"):
        AuditConfig(log_content=True)
    assert AuditConfig(log_content=True, content_key=SecretStr("s")).log_content


def test_dates() -> None:
    assert parse_when("2026-01-01") == 1_767_225_600.0
    assert parse_when("2026-01-01", end_of_day=True) == 1_767_225_600.0 + 86_400
    assert parse_when("2026-01-01T01:00:00Z") == 1_767_225_600.0 + 3600
    assert parse_when("2026-01-01T01:00:00+01:00") == 1_767_225_600.0
    with pytest.raises(ValueError):
        parse_when("yesterday")
