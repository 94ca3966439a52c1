"""Ed25519 keys that sign audit checkpoints.

The private key lives in a PEM file the operator holds (``data_dir/audit-signing.key`` by
default, created 0600 on first use).  Its public half is stored in ``audit_keys`` and printed
by ``lockgate audit pubkey`` so an auditor can verify with the database and that key alone.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DEFAULT_KEY_FILE = "audit-signing.key"


def checkpoint_message(
    chain_id: str, seq: int, record_hash: str, signed_at: float, key_id: str, kind: str
) -> bytes:
    """The bytes an Ed25519 checkpoint signature covers (``kind`` too: only "anchor" may start a chain)."""
    fields = ("lockgate-audit-checkpoint/v1", chain_id, str(seq), record_hash, repr(signed_at), key_id, kind)
    return "\n".join(fields).encode()


def public_pem(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return raw.decode("ascii")


def key_id_of(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_pem(text: str | bytes) -> Ed25519PublicKey:
    data = text.encode("ascii") if isinstance(text, str) else text
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@dataclass(frozen=True, slots=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()


def load_or_create_key(path: Path) -> Signer:
    """Read the PEM private key at ``path``; create it (mode 0600) when it does not exist."""
    path = path.expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another instance created it first
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return Signer(key)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return Signer(loaded)


def signature_valid(key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
