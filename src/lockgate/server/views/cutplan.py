"""What a cut or a restore would move, named before it is made, and the drill matrix.

Both use the sovereignty code as it is: ``CutSet.match`` for the kill switch and
``run_drill`` for the alias × policy matrix, with the survivors' capacity against the load that
would move (``sovereignty.drill_capacity``) when the gateway has a store to read the load from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lockgate.config.schema import GatewayConfig
from lockgate.routing.deployment import Deployment
from lockgate.sovereignty.cuts import CutSet
from lockgate.sovereignty.drill import evaluated_policies, run_drill
from lockgate.sovereignty.drill_capacity import CapacityInputs


def plan(deployments: Iterable[Deployment], current: set[str], target: str, restore: bool) -> dict[str, Any]:
    """Per alias: the deployments that stop (cut) or come back (restore), and what still serves."""
    before, after = CutSet(current), CutSet(current - {target} if restore else current | {target})
    aliases: dict[str, dict[str, Any]] = {}
    for d in deployments:
        was, now = before.match(d.provider_name, d.facts), after.match(d.provider_name, d.facts)
        entry = aliases.setdefault(d.alias, {"alias": d.alias, "moves": [], "serving_after": []})
        if (was is None) != (now is None):
            entry["moves"].append({"deployment": d.name, "jurisdiction": d.facts.jurisdiction,
                                   "cut_by": now or was})  # fmt: skip
        if now is None:
            entry["serving_after"].append(d.name)
    affected = [a for a in aliases.values() if a["moves"]]
    return {"target": target, "action": "restore" if restore else "cut", "aliases": affected,
            "dark_after": sorted(a["alias"] for a in affected if not a["serving_after"])}  # fmt: skip


def drill_matrix(
    cfg: GatewayConfig, cuts: list[str], policies: list[str], capacity: CapacityInputs | None = None
) -> dict[str, Any]:
    """The drill as ``lockgate drill --json`` prints it; each row's ``capacity`` is None when
    there is no load to read (no store)."""
    return run_drill(cfg, cuts, evaluated_policies(cfg, policies), capacity).to_dict()
