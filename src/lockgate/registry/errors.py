"""Errors of the model registry; each message says what to do next."""

from __future__ import annotations


class RegistryError(ValueError):
    """A registry operation cannot proceed (the message names the fix)."""


class TargetError(RegistryError):
    """``models add`` was given something that is not a model file, folder or package."""


class ArtifactNotFound(RegistryError):
    """No registered artifact has this id, name or path."""


class AlreadyRegistered(RegistryError):
    """The path or name is registered already."""


class GateRefused(RegistryError):
    """The artifact may not be served; the message says which check failed and how to resolve it."""

    def __init__(self, message: str, check: str = "gate") -> None:
        super().__init__(message)
        self.check = check


class NotBlocking(RegistryError):
    """An acknowledgement named a rule that does not block the artifact."""
