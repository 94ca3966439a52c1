"""Provider kinds, registered in one place.  Plugins add kinds through the
``lockgate.providers`` entry-point group (each entry point names a ``Provider`` subclass)."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from lockgate.errors import ConfigError
from lockgate.providers.base import Provider

if TYPE_CHECKING:
    from lockgate.config.schema import GatewayConfig, ProviderConfig

PROVIDER_KINDS: dict[str, type[Provider]] = {}


def register_provider(cls: type[Provider]) -> type[Provider]:
    PROVIDER_KINDS[cls.kind] = cls
    return cls


def _load_builtin() -> None:
    from lockgate.providers.llamacpp import LlamaCppProvider
    from lockgate.providers.openai_compat import OpenAICompatibleProvider

    for cls in (OpenAICompatibleProvider, LlamaCppProvider):
        register_provider(cls)
    for ep in entry_points(group="lockgate.providers"):
        register_provider(ep.load())


def build_provider(name: str, config: ProviderConfig, gateway: GatewayConfig) -> Provider:
    if not PROVIDER_KINDS:
        _load_builtin()
    cls = PROVIDER_KINDS.get(config.kind)
    if cls is None:
        known = ", ".join(sorted(PROVIDER_KINDS))
        raise ConfigError(f"providers.{name}.kind: unknown kind {config.kind!r} (known: {known})")
    return cls(name, config, gateway)
