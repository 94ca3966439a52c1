"""The licence register: look terms up and evaluate them against the operator's standing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lockgate.registry import licence_terms as t
from lockgate.registry.checkpoints import CHECKPOINTS, Checkpoint, find_checkpoint, licence_for_tag
from lockgate.registry.config import OperatorConfig
from lockgate.registry.licence_terms import Licence

EU_MEMBER_STATES = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "IE", "IT"}
    | {"LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)
UNKNOWN_RULE = "licence.unknown"


@dataclass(frozen=True)
class LicenceFinding:
    rule: str
    blocking: bool
    message: str
    resolution: str


def all_licences() -> dict[str, Licence]:
    """Every licence the register knows, by its SPDX id / LicenseRef (first checkpoint wins)."""
    known: dict[str, Licence] = {t.APACHE.spdx: t.APACHE, t.MIT.spdx: t.MIT}
    for cp in CHECKPOINTS:
        known.setdefault(cp.licence.spdx, cp.licence)
    return known


def licence_by_id(licence_id: str | None) -> Licence | None:
    """Terms for an SPDX id, LicenseRef, register key or Hugging Face tag."""
    if not licence_id:
        return None
    wanted = licence_id.strip().lower()
    for spdx, lic in all_licences().items():
        if wanted in (spdx.lower(), lic.key):
            return lic
    return licence_for_tag(licence_id)


def resolve_licence(
    checkpoint: str | None, licence_id: str | None
) -> tuple[Licence | None, Checkpoint | None]:
    """Checkpoint terms win (they are per checkpoint); else the licence id alone."""
    cp = find_checkpoint(checkpoint) if checkpoint else None
    if cp is not None:
        return cp.licence, cp
    return licence_by_id(licence_id), None


def _is_eu(country: str) -> bool:
    return country.strip().upper() in EU_MEMBER_STATES


Rule = Callable[[Licence, OperatorConfig], LicenceFinding | None]


def _non_commercial(lic: Licence, op: OperatorConfig) -> LicenceFinding | None:
    if lic.commercial != "no" or not op.commercial_use:
        return None
    return LicenceFinding(
        "licence.non-commercial",
        True,
        f"{lic.name} does not permit commercial use and operator.commercial_use is true",
        "obtain a commercial licence from the licensor, or set operator.commercial_use: false if true",
    )


def _eu_exclusion(lic: Licence, op: OperatorConfig) -> LicenceFinding | None:
    if not lic.eu_domicile_exclusion or not _is_eu(op.domicile):
        return None
    return LicenceFinding(
        "licence.eu-domicile-exclusion",
        True,
        f"{lic.name} grants no licence for this checkpoint to companies with their principal place of "
        f"business in the EU (operator.domicile is {op.domicile})",
        "serve a text-only checkpoint instead, or record an acknowledgement after legal review",
    )


def _threshold_finding(lic: Licence, what: str) -> LicenceFinding:
    if lic.threshold_effect == "attribution-required":
        return LicenceFinding(
            f"licence.{what}-attribution",
            False,
            f"above the {what} threshold of {lic.name} the product must prominently display "
            f"{lic.attribution!r}",
            f"display {lic.attribution!r} in the user interface",
        )
    return LicenceFinding(
        f"licence.{what}-threshold",
        True,
        f"operator scale exceeds the {what} threshold of {lic.name}; a separate licence is required",
        "obtain a licence from the licensor, then record an acknowledgement",
    )


def _mau(lic: Licence, op: OperatorConfig) -> LicenceFinding | None:
    if lic.mau_threshold is None or op.monthly_active_users <= lic.mau_threshold:
        return None
    return _threshold_finding(lic, "mau")


def _revenue(lic: Licence, op: OperatorConfig) -> LicenceFinding | None:
    limit = lic.monthly_revenue_threshold_usd
    # compared 1:1 with EUR: the licences name US$, the operator declares EUR per year
    if limit is None or not op.commercial_use or op.annual_revenue_eur / 12 <= limit:
        return None
    return _threshold_finding(lic, "revenue")


def _info(rule: str, applies: Callable[[Licence], str | None], resolution: str) -> Rule:
    def check(lic: Licence, _op: OperatorConfig) -> LicenceFinding | None:
        message = applies(lic)
        return LicenceFinding(rule, False, message, resolution) if message else None

    return check


RULES: tuple[Rule, ...] = (
    _non_commercial,
    _eu_exclusion,
    _mau,
    _revenue,
    _info(
        "licence.flow-down",
        lambda lic: (
            f"{lic.name}: its use restrictions must be passed on to your users" if lic.flow_down else None
        ),
        "include the licensor's use restrictions in your terms of service",
    ),
    _info(
        "licence.remote-restriction",
        lambda lic: (
            f"{lic.name}: the licensor reserves the right to restrict use remotely"
            if lic.remote_restriction
            else None
        ),
        "keep an exit plan (another checkpoint) for this alias",
    ),
    _info(
        "licence.attribution",
        lambda lic: f"{lic.name} requires the attribution {lic.attribution!r}" if lic.attribution else None,
        "show the attribution where the licence requires it",
    ),
    _info(
        "licence.name-prefix",
        lambda lic: (
            f"derived models must be named starting with {lic.name_prefix_rule!r}"
            if lic.name_prefix_rule
            else None
        ),
        "name fine-tunes you distribute accordingly",
    ),
    _info(
        "licence.output-training",
        lambda lic: (
            f"{lic.name} forbids using outputs to improve other LLMs"
            if lic.output_training_restriction
            else None
        ),
        "do not use this model's outputs to train or improve other models",
    ),
)


def evaluate(licence: Licence, operator: OperatorConfig) -> list[LicenceFinding]:
    """What these terms mean for this operator: blocking findings first, then duties."""
    found = [f for rule in RULES if (f := rule(licence, operator)) is not None]
    return sorted(found, key=lambda f: not f.blocking)


def unknown_licence(artifact_name: str) -> LicenceFinding:
    return LicenceFinding(
        UNKNOWN_RULE,
        True,
        f"the licence of {artifact_name!r} is unknown to the register",
        "re-register with --checkpoint ID or --licence SPDX-ID "
        "(see `lockgate models licence`), or record an acknowledgement",
    )
