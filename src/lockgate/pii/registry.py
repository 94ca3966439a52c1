"""The one place detectors are registered: name -> factory taking the `PiiConfig`.

The order is the tie-break when two detectors claim the same span with the same length; it is
`lockgate.pii.kinds.DETECTOR_NAMES`, which the config validates names against.
"""

from __future__ import annotations

from lockgate.pii.address import address_detector
from lockgate.pii.base import DetectorFactory
from lockgate.pii.contact import email_detector, phone_detector
from lockgate.pii.financial import card_detector, iban_detector, vat_detector
from lockgate.pii.health import health_detector
from lockgate.pii.identity import national_id_detector
from lockgate.pii.kinds import DETECTOR_NAMES
from lockgate.pii.names import name_detector
from lockgate.pii.ner import ner_detector

DETECTORS: dict[str, DetectorFactory] = {
    "iban": iban_detector,
    "card": card_detector,
    "national_id": national_id_detector,
    "vat": vat_detector,
    "email": email_detector,
    "phone": phone_detector,
    "address": address_detector,
    "name": name_detector,
    "health": health_detector,
    "ner": ner_detector,  # optional: runs only with pii.ner.enabled (PiiConfig.active_detectors)
}
if tuple(DETECTORS) != DETECTOR_NAMES:  # pragma: no cover - a registration mistake
    raise RuntimeError(f"pii registry {tuple(DETECTORS)} != kinds.DETECTOR_NAMES {DETECTOR_NAMES}")
