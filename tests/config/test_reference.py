"""docs/config.md is generated from the schema and must list every setting as it is now."""

from __future__ import annotations

from pathlib import Path

from lockgate.config.reference import render
from lockgate.config.schema import GatewayConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_config_reference_is_current() -> None:
    assert DOC.read_text() == render(), "regenerate: python -m lockgate.config.reference > docs/config.md"


def test_every_top_level_section_is_documented() -> None:
    text = DOC.read_text()
    for name in GatewayConfig.model_fields:
        assert f"| `{name}` |" in text
    for section in (
        "server",
        "providers.<name>",
        "providers.<name>.engine",
        "models.<name>",
        "audit",
        "limits",
    ):
        assert f"## `{section}`" in text
