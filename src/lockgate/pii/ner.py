"""The optional NER backend: Presidio's analyzer over a local spaCy pipeline.

Off by default (`pii.ner.enabled`); the rule-based detectors stay the default backend. When on,
it adds person names and addresses that a statistical or rule-based spaCy pipeline recognises
and the lexicon does not (`loop in Daniel Okoro`). Install it with `pip install 'lockgate[ner]'`.

* **The pipeline is a model artifact.** `pii.ner.pipeline` names a directory written by
  `nlp.to_disk`. The gateway passes it through the registry's serving gate (registered, every
  file hash-pinned, scanned, licensed) before this module loads it (`lockgate.server.assemble`);
  this module only ever loads that directory, with `spacy.load(path)`. Presidio's own loader,
  which downloads a missing model by name, is never called, and no package name is resolved.
* **Off the event loop.** spaCy holds the GIL for most of a document (measured: docs/pii.md), so
  the detector owns a small thread pool (`pii.ner.threads`) and `PiiScanner.scan_request_async`
  runs the scans that need it there. Threads, not processes: the pipeline is loaded once and
  shared, and a 2 KB prompt and its findings cross no process boundary.
* **Only where it can find something.** `wants(text)` is a cheap pre-filter: two adjacent
  capitalised words, or a capitalised word inside a sentence. Text without one (lower-case chat,
  code, logs, numbers) never reaches spaCy and is scanned on the loop as before.
* **Mapping to lockgate's types**: PERSON (spaCy `PERSON`/`PER`, via Presidio's mapping) is
  `name`; an `ADDRESS`/`STREET_ADDRESS` entity, or a LOCATION (`GPE`, `LOC`, `FAC`) that holds a
  digit (a house number or a postcode: `Hauptstrasse 5`, `10115 Berlin`) is `address`. A bare
  place name (`Berlin`) is not personal data and is not reported; other labels are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.errors import ConfigError
from lockgate.pii.base import ScanDetector
from lockgate.pii.candidates import TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine
    from spacy.language import Language

_UP = "A-ZÀ-ÖØ-ÞĄĆČĎĘĚŁŃŇŒŘŚŠŤŮŸŹŻŽ"
_LO = "a-zß-öø-ÿąćčďęěłńňœřśšťůźżž"
# Two adjacent capitalised words, or a capitalised word after a lower-case word or a comma.
_CANDIDATE = re.compile(rf"(?:[{_UP}][{_LO}]+|[{_LO},;:])[ \u00a0]+[{_UP}][{_LO}]")

# spaCy labels -> Presidio entities (Presidio's defaults plus facilities and address labels).
_MODEL_LABELS = {
    "PERSON": "PERSON", "PER": "PERSON", "PATIENT": "PERSON", "STAFF": "PERSON", "HCW": "PERSON",
    "GPE": "LOCATION", "LOC": "LOCATION", "LOCATION": "LOCATION", "FAC": "LOCATION",
    "ADDRESS": "ADDRESS", "STREET_ADDRESS": "ADDRESS",
}  # fmt: skip
_ENTITIES = ("PERSON", "LOCATION", "ADDRESS")
_DIGIT = re.compile(r"\d")


def has_candidates(text: str) -> bool:
    """The pre-filter: could spaCy find a name or an address in `text`?"""
    return bool(text) and not text.islower() and _CANDIDATE.search(text) is not None


def lockgate_kind(entity: str, value: str) -> str | None:
    """A Presidio entity type and its text -> lockgate's type, or None when not personal data."""
    if entity == "PERSON":
        return "name"
    if entity == "ADDRESS" or (entity == "LOCATION" and _DIGIT.search(value)):
        return "address"
    return None


def load_pipeline(path: Path) -> Language:
    """`spacy.load` of a local directory; a clear error when spaCy is missing or the files are bad.

    The caller must have passed `path` through the registry's gate first (see the module doc).
    """
    try:
        import spacy
    except ImportError:
        raise ConfigError(
            "pii.ner.enabled: the NER backend needs spaCy and Presidio; install `pip install 'lockgate[ner]'`"
        ) from None
    if not path.is_dir():
        raise ConfigError(f"pii.ner.pipeline: no such directory {str(path)!r}")
    try:
        return spacy.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"pii.ner.pipeline: {path} is not a loadable spaCy pipeline ({exc})") from None


def language_of(nlp: Language) -> str:
    if not nlp.lang:
        raise ConfigError("pii.ner.pipeline: the spaCy pipeline names no language (meta.json `lang`)")
    return nlp.lang


def build_analyzer(nlp: Language, path: Path) -> AnalyzerEngine:
    """A Presidio analyzer whose only recognizer reads the entities of the loaded `nlp`."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    lang = language_of(nlp)
    engine = SpacyNlpEngine(
        models=[{"lang_code": lang, "model_name": str(path)}],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping=_MODEL_LABELS,
            labels_to_ignore=["ORG", "DATE", "TIME", "NORP", "CARDINAL", "ORDINAL", "MONEY", "PERCENT"],
        ),
    )
    # Handed the pipeline loaded from the gated directory: `engine.load()` (which downloads a
    # model it cannot find) is never called.
    loaded: dict[str, Any] = {lang: nlp}
    engine.nlp = loaded  # type: ignore[assignment]  # Presidio annotates it as None until load()
    recognizer = SpacyRecognizer(supported_language=lang, supported_entities=list(_ENTITIES))
    registry = RecognizerRegistry(recognizers=[recognizer], supported_languages=[lang])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[lang])


class NerDetector(ScanDetector):
    """Person names and addresses found by a spaCy pipeline through Presidio."""

    needs_signal = False  # names hold no digit or "@"

    def __init__(self, analyzer: AnalyzerEngine, language: str, threads: int = 1) -> None:
        self._analyzer = analyzer
        self._language = language
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lockgate-ner")

    @property
    def executor(self) -> ThreadPoolExecutor:
        """Where `PiiScanner.scan_request_async` runs the scans this detector takes part in."""
        return self._executor

    def wants(self, text: str) -> bool:
        return has_candidates(text)

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        if not has_candidates(text):
            return
        results = self._analyzer.analyze(text=text, language=self._language, entities=list(_ENTITIES))
        for result in sorted(results, key=lambda r: r.start):
            value = text[result.start : result.end]
            kind = lockgate_kind(result.entity_type, value)
            if kind is not None and value.strip():
                yield Match(kind, value, result.start, result.end)


def ner_detector(config: PiiConfig) -> NerDetector:
    ner = config.ner
    if ner.pipeline is None:
        raise ConfigError("pii.ner.pipeline: required when pii.ner.enabled is true")
    path = ner.pipeline.expanduser().resolve()
    nlp = load_pipeline(path)
    return NerDetector(build_analyzer(nlp, path), language_of(nlp), ner.threads)
