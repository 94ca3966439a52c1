"""The names of the detectors and of the types they report: a leaf module.

`lockgate.pii.config` validates `pii.detectors` and `pii.types` against these names without
importing the registry (which imports every detector, and each detector imports the config).
`lockgate.pii.registry` checks that its table holds exactly these detectors, in this order.
"""

from __future__ import annotations

# Registration order: the tie-break when two detectors claim the same span with the same length.
DETECTOR_NAMES: tuple[str, ...] = (
    "iban", "card", "national_id", "vat", "email", "phone", "address", "name", "health", "ner",
)  # fmt: skip
# The optional NER backend (`lockgate.pii.ner`): off unless `pii.ner.enabled`; it reports the
# `name` and `address` types, never a type of its own.
NER_DETECTOR = "ner"

# Types a finding can have: a detector's name, or `national_id:<country>`, plus `unscanned`
# for request content past `pii.max_scan_chars`. Policies name a type or its family.
TYPE_FAMILIES: frozenset[str] = (frozenset(DETECTOR_NAMES) - {NER_DETECTOR}) | {"unscanned"}


def family(kind: str) -> str:
    """`national_id:de` -> `national_id`; other types are their own family."""
    return kind.split(":", 1)[0]
