"""Errors of a tune run; every message is one line naming the file, line or field."""

from __future__ import annotations


class TuneError(ValueError):
    """A tune run that cannot go on; the message says why and what to do."""


class DatasetError(TuneError):
    """The dataset file is not usable (names the line and the field)."""


class PersonalDataFound(TuneError):
    """The dataset holds personal data and no acknowledgement was given."""


class MissingExtra(TuneError):
    """torch, transformers or peft are not installed."""
