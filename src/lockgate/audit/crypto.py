"""Encryption at rest of request/response bodies (only with ``audit.log_content``).

AES-256-GCM under a key derived with HKDF-SHA256 from the operator's ``audit.content_key``.
Stored blob: version byte ``0x01`` || 12-byte random nonce || ciphertext+tag.  The associated
data binds a blob to its record and field, so a body cannot be moved to another row.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE = 12


class ContentCipher:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("audit.content_key: must not be empty")
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"lockgate-audit-content", info=b"aes-256-gcm/v1"
        ).derive(secret.encode("utf-8"))
        self._aead = AESGCM(key)

    @staticmethod
    def _aad(request_id: str, field: str) -> bytes:
        return f"{request_id}\n{field}".encode()

    def encrypt(self, data: bytes, request_id: str, field: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, self._aad(request_id, field))

    def decrypt(self, blob: bytes, request_id: str, field: str) -> bytes:
        """Raise ``cryptography.exceptions.InvalidTag`` for a wrong key or an altered/moved blob."""
        if blob[:1] != _VERSION:
            raise ValueError("unknown encrypted body format")
        nonce, body = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        return self._aead.decrypt(nonce, body, self._aad(request_id, field))
