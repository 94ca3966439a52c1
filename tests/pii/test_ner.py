"""The optional NER backend (Presidio over a spaCy pipeline): gated by the registry, off the loop.

Every test builds its own tiny pipeline (`spacy.blank` plus an entity ruler) in a temporary
directory; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from lockgate.config.loader import parse_config
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError
from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.ner import NerDetector, has_candidates, lockgate_kind
from lockgate.pii.redact import Redactor
from lockgate.registry.artifacts import AddOptions, add
from lockgate.registry.scan import scan_path
from lockgate.server.assemble import check_ner_pipeline
from lockgate.storage.db import open_store

spacy = pytest.importorskip("spacy")

# Names the lexicon alone does not find: no cue, a surname it does not list.
UNCUED = "Please loop in Daniel Okoro on the thread before Friday."
PATTERNS = [
    {"label": "PERSON", "pattern": [{"TEXT": "Daniel"}, {"TEXT": "Okoro"}]},
    {"label": "PERSON", "pattern": [{"TEXT": "Okoro"}]},
    {"label": "PERSON", "pattern": "Priya Sharma"},
    {"label": "GPE", "pattern": "Berlin"},
    {"label": "FAC", "pattern": [{"TEXT": "Hauptstrasse"}, {"IS_DIGIT": True}]},
    {"label": "ORG", "pattern": "Acme"},
]


@dataclass
class Gated:
    pipeline: Path
    store: Engine
    url: str

    def config(self, **ner: Any) -> GatewayConfig:
        return parse_config(
            {
                "storage": {"url": self.url},
                "pii": {"ner": {"enabled": True, "pipeline": str(self.pipeline), **ner}},
            }
        )


def build_pipeline(target: Path) -> Path:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(PATTERNS)
    nlp.to_disk(target)
    return target


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[Gated]:
    url = f"sqlite:///{tmp_path / 'lockgate.db'}"
    store = open_store(url)
    yield Gated(build_pipeline(tmp_path / "ner-pipeline"), store, url)
    store.dispose()


@pytest.fixture(scope="module")
def scanner(tmp_path_factory: pytest.TempPathFactory) -> PiiScanner:
    path = build_pipeline(tmp_path_factory.mktemp("ner") / "pipeline")
    return PiiScanner(
        PiiConfig.model_validate({"cache_entries": 0, "ner": {"enabled": True, "pipeline": path}})
    )


def test_off_by_default_and_no_spacy_needed() -> None:
    config = PiiConfig()
    assert "ner" not in config.active_detectors()
    assert not any(isinstance(d, NerDetector) for d in PiiScanner(config)._detectors)


def test_finds_names_the_lexicon_alone_misses(scanner: PiiScanner) -> None:
    rules_only = PiiScanner(PiiConfig(cache_entries=0))
    assert rules_only.scan_text(UNCUED).counts == {}
    found = scanner.scan_text(UNCUED).matches
    assert [(m.kind, m.value) for m in found] == [("name", "Daniel Okoro")]
    assert UNCUED[found[0].start : found[0].end] == "Daniel Okoro"


def test_rule_detectors_still_run_beside_it(scanner: PiiScanner) -> None:
    text = "Maria Schmidt, Hauptstrasse 5, 10115 Berlin, diagnosis: type 2 diabetes. Ask Priya Sharma."
    counts = scanner.scan_text(text).counts
    assert counts == {"name": 2, "address": 1, "health": 1}


def test_mapping_to_lockgate_types() -> None:
    assert lockgate_kind("PERSON", "Anna Weber") == "name"
    assert lockgate_kind("LOCATION", "Berlin") is None  # a bare place is not personal data
    assert lockgate_kind("LOCATION", "Hauptstrasse 5") == "address"
    assert lockgate_kind("ADDRESS", "Rue de la Paix") == "address"
    assert lockgate_kind("ORGANIZATION", "Acme 2") is None


def test_places_and_organisations_are_not_reported(scanner: PiiScanner) -> None:
    assert scanner.scan_text("Our team in Berlin met Acme on Monday about the roadmap.").counts == {}
    found = scanner.scan_text("The parcel goes to the depot at Hauptstrasse 12 on Monday.").matches
    assert [(m.kind, m.value) for m in found] == [("address", "Hauptstrasse 12")]


def test_pre_filter() -> None:
    assert has_candidates(UNCUED) and has_candidates("Daniel Okoro called.")
    assert not has_candidates("")
    assert not has_candidates("please send the invoice by friday, thanks")  # no capital at all
    assert not has_candidates("Send the invoice. Then close the ticket.")  # only sentence starts
    assert not has_candidates('{"id": 42, "status": "ok"}\nSELECT * FROM orders;')


def test_findings_are_redacted_and_restored(scanner: PiiScanner) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": UNCUED}]}
    redacted, restorer = Redactor(scanner).redact(body)
    sent = redacted["messages"][0]["content"]
    assert "Okoro" not in sent and "[NAME_1]" in sent
    assert restorer.restore(sent) == UNCUED
    assert body["messages"][0]["content"] == UNCUED  # the original is untouched


async def test_runs_in_its_thread_only_for_capitalised_text(
    scanner: PiiScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    ner = next(d for d in scanner._detectors if isinstance(d, NerDetector))
    threads: list[str] = []
    analyze = ner._analyzer.analyze

    def spy(**kw: Any) -> Any:
        threads.append(threading.current_thread().name)
        return analyze(**kw)

    monkeypatch.setattr(ner._analyzer, "analyze", spy)
    quiet = {"messages": [{"role": "user", "content": "no capitals here, just 2 numbers: 12 and 40"}]}
    assert (await scanner.scan_request_async(quiet)).counts == {}
    assert threads == []  # never reached spaCy nor a thread
    loud = {"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": UNCUED}]}
    found, _ = await asyncio.gather(scanner.scan_request_async(loud), asyncio.sleep(0))
    assert found.counts == {"name": 1} and found.matches[0].path == "messages[1].content"
    assert threads and all(name.startswith("lockgate-ner") for name in threads)


def test_a_gated_pipeline_passes(gated: Gated) -> None:
    add(gated.store, gated.pipeline, AddOptions(licence="MIT"))
    check_ner_pipeline(gated.config())  # no exception: the gateway may load it


def test_the_pipeline_scans_without_a_blocking_finding(gated: Gated) -> None:
    report = scan_path(gated.pipeline)
    assert not report.blocking, report.findings
    assert report.formats["vocab/lookups.bin"] == "msgpack"  # not taken for an unparseable pickle
    assert report.formats["tokenizer"] == "msgpack"


def test_an_unregistered_pipeline_is_refused(gated: Gated) -> None:
    with pytest.raises(
        ConfigError, match=r"pii\.ner\.pipeline: refused by the model registry: .*not registered"
    ):
        check_ner_pipeline(gated.config())


def test_a_tampered_file_is_refused(gated: Gated) -> None:
    add(gated.store, gated.pipeline, AddOptions(licence="MIT"))
    patterns = gated.pipeline / "entity_ruler" / "patterns.jsonl"
    patterns.write_text(patterns.read_text() + '{"label":"PERSON","pattern":"Eve"}\n')
    with pytest.raises(
        ConfigError, match=r"pii\.ner\.pipeline: .*files differ .*changed: entity_ruler/patterns\.jsonl"
    ):
        check_ner_pipeline(gated.config())


def test_an_added_file_is_refused(gated: Gated) -> None:
    add(gated.store, gated.pipeline, AddOptions(licence="MIT"))
    (gated.pipeline / "extra.cfg").write_text("[x]\n")
    with pytest.raises(ConfigError, match=r"extra: extra\.cfg"):
        check_ner_pipeline(gated.config())


def test_an_unknown_licence_is_refused_until_acknowledged(gated: Gated) -> None:
    add(gated.store, gated.pipeline)  # meta.json states no licence
    with pytest.raises(ConfigError, match=r"pii\.ner\.pipeline: .*licence check"):
        check_ner_pipeline(gated.config())


def test_a_missing_directory_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pii\.ner\.pipeline: no such directory"):
        parse_config({"pii": {"ner": {"enabled": True, "pipeline": str(tmp_path / "absent")}}})


def test_enabled_without_a_pipeline_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"pii\.ner: pipeline: required"):
        parse_config({"pii": {"ner": {"enabled": True}}})


def test_listing_ner_without_enabling_it_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"detectors: 'ner' needs pii\.ner\.enabled"):
        parse_config({"pii": {"detectors": ["name", "ner"]}})


def test_a_disabled_backend_ignores_its_path(tmp_path: Path) -> None:
    cfg = parse_config({"pii": {"ner": {"enabled": False, "pipeline": str(tmp_path / "absent")}}})
    assert "ner" not in cfg.pii.active_detectors()
    check_ner_pipeline(cfg)  # nothing to check, nothing loaded


def test_a_directory_that_is_no_pipeline_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"pii\.ner\.pipeline: .* is not a loadable spaCy pipeline"):
        PiiScanner(PiiConfig.model_validate({"ner": {"enabled": True, "pipeline": tmp_path / "empty"}}))
