from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.cuts import CutSet, add_cut, list_cuts, load_cuts, remove_cut
from lockgate.sovereignty.views import resolve_all
from lockgate.storage.db import open_store


def cut_by(world: GatewayConfig, *targets: str) -> dict[str, str]:
    cuts = CutSet(targets)
    out: dict[str, str] = {}
    for name, facts in resolve_all(world).items():
        hit = cuts.match(name, facts)
        if hit is not None:
            out[name] = hit
    return out


def test_cut_by_provider_and_catalogue_name(world: GatewayConfig) -> None:
    assert cut_by(world, "openai") == {"openai": "openai"}
    assert cut_by(world, "local") == {"local": "local"}, "self-hosted is cut by its own name"


def test_cut_by_country_matches_operator_parent_and_processing(world: GatewayConfig) -> None:
    us = cut_by(world, "US")
    assert {"openai", "openai-eu", "anthropic"} <= set(us)
    assert "scaleway" not in us and "local" not in us
    cn = cut_by(world, "CN")
    assert cn["deepseek"] == "CN" and cn["alibaba-eu"] == "CN"  # PRC parent
    assert set(cut_by(world, "FI")) >= {"nebius"}  # processing location only


def test_cut_by_law_and_alias(world: GatewayConfig) -> None:
    by_alias = cut_by(world, "cloud-act")
    assert by_alias["openai"] == "cloud-act"
    assert by_alias["nebius"] == "cloud-act"  # declared exposure, NL operator
    assert "mistral" not in by_alias and "deepseek" not in by_alias
    assert set(cut_by(world, "PRC-NIL")) >= {"deepseek", "alibaba-eu"}


def test_self_hosted_immune_to_country_and_law(world: GatewayConfig) -> None:
    # the local engine sits in DE (operator domicile) but is never cut by country or law
    assert "local" not in cut_by(world, "DE", "US-CLOUD-Act", "CN")


def test_unknown_operator_country_is_cut_by_any_country_cut(world: GatewayConfig) -> None:
    assert cut_by(world, "BR")["bare"] == "BR"
    assert "bare" not in cut_by(world, "scaleway")


def test_version_bumps_only_on_change() -> None:
    cuts = CutSet({"CN"})
    assert cuts.version == 0
    assert cuts.replace({"CN"}) is False and cuts.version == 0
    assert cuts.replace({"CN", "US"}) is True and cuts.version == 1
    assert cuts.add("US") is False and cuts.version == 1
    assert cuts.discard("CN") is True and cuts.version == 2
    assert cuts.targets == {"US"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_store(f"sqlite:///{tmp_path / 'cuts.db'}")
    yield eng
    eng.dispose()


def test_persistence_round_trip(engine: Engine, tmp_path: Path) -> None:
    assert load_cuts(engine) == set()
    first = add_cut(engine, "CN", "board decision")
    add_cut(engine, "US-CLOUD-Act")
    again = add_cut(engine, "CN", "new reason")
    assert again.created_at == first.created_at and again.reason == "new reason"
    assert load_cuts(engine) == {"CN", "US-CLOUD-Act"}
    # a second engine on the same file sees the same state (survives restart)
    other = open_store(f"sqlite:///{tmp_path / 'cuts.db'}")
    try:
        records = {r.target: r.reason for r in list_cuts(other)}
        assert records == {"CN": "new reason", "US-CLOUD-Act": None}
        assert remove_cut(other, "CN") is True
        assert remove_cut(other, "CN") is False
    finally:
        other.dispose()
    cuts = CutSet()
    assert cuts.replace(load_cuts(engine)) is True
    assert cuts.targets == {"US-CLOUD-Act"}
    assert cuts.replace(load_cuts(engine)) is False
