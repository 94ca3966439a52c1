"""The one place detectors are registered: name -> factory taking the `PiiConfig`.

The order is the tie-break when two detectors claim the same span with the same length.
"""

from __future__ import annotations

from lockgate.pii.base import DetectorFactory
from lockgate.pii.contact import email_detector, phone_detector
from lockgate.pii.financial import card_detector, iban_detector, vat_detector
from lockgate.pii.identity import national_id_detector

DETECTORS: dict[str, DetectorFactory] = {
    "iban": iban_detector,
    "card": card_detector,
    "national_id": national_id_detector,
    "vat": vat_detector,
    "email": email_detector,
    "phone": phone_detector,
}
