"""Authenticate a request from its headers against the in-memory key map."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from lockgate.auth.keys import ANONYMOUS, Principal, hash_secret
from lockgate.errors import AuthenticationFailed

log = logging.getLogger("lockgate.auth")


class Authenticator:
    """``mode``: "keys" requires a key; "none" admits everyone (loopback only);
    "auto" is keyless until the first key exists."""

    def __init__(self, mode: str, bootstrap_admin: str | None = None) -> None:
        self.mode = mode
        self._keys: dict[str, Principal] = {}
        self.generation = 0
        self._bootstrap = hash_secret(bootstrap_admin) if bootstrap_admin else None

    def replace(self, keys: Mapping[str, Principal]) -> None:
        self.generation += 1
        had = bool(self._keys)
        self._keys = dict(keys)
        if self._bootstrap:
            self._keys[self._bootstrap] = Principal(
                id="bootstrap-admin", name="bootstrap admin", is_admin=True
            )
        if self.mode == "auto" and not had and self._keys:
            log.warning("API keys now exist: requests without a valid key are refused from now on")

    def by_hash(self, secret_hash: str) -> Principal | None:
        """The principal of a key by the hash of its secret (a console session holds only the hash)."""
        return self._keys.get(secret_hash)

    def principals(self) -> list[Principal]:
        """Every active principal, once each (the routing explorer picks a key from them)."""
        return list({p.id: p for p in self._keys.values()}.values())

    @property
    def keyless(self) -> bool:
        return self.mode == "none" or (self.mode == "auto" and not self._keys)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        auth = headers.get("Authorization")
        token: str | None = None
        if auth is not None:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer":
                token = value.strip()
        if token is None:
            token = headers.get("x-api-key")
        if self.keyless:
            return ANONYMOUS
        if not token:
            raise AuthenticationFailed(
                "No API key provided. Send it as 'Authorization: Bearer <key>'; create one with "
                "'lockgate keys create NAME'."
            )
        principal = self._keys.get(hash_secret(token))
        if principal is None:
            raise AuthenticationFailed(
                "Incorrect or revoked API key. Check the key, or create a new one with 'lockgate keys create NAME'."
            )
        return principal
