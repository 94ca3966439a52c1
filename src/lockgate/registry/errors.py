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
