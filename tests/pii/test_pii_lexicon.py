"""Word-list look-ups (`lockgate.pii.lexicon`): both matchers find the same words as the
definition (runs of letters after lower-casing, and plain string tests), on made-up and on real detector lists."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest
from pii_corpus import ordinary_corpus

from lockgate.pii import health, lexicon, names
from lockgate.pii.candidates import WORD, TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.lexicon import MATCHERS, Group, Lexicon, SharedLexicon

MATCHER_NAMES = list(MATCHERS)


def defined_words(text: str) -> frozenset[str]:
    """A text's words by definition: its runs of lower-case letters after lower-casing."""
    return frozenset(WORD.findall(text.lower()))


def expected(groups: tuple[Group, ...], text: str) -> dict[str, frozenset[str]]:
    """The definition, spelled out with string methods over the text's words."""
    words = defined_words(text)
    holds = {
        "whole": lambda w, entries: w in entries,
        "prefix": lambda w, entries: w.startswith(tuple(entries)),
        "suffix": lambda w, entries: w.endswith(tuple(entries)),
        "infix": lambda w, entries: any(e in w for e in entries),
    }
    return {g.name: frozenset(w for w in words if holds[g.part](w, g.entries)) for g in groups}


GROUPS = (
    Group("given", frozenset({"anna", "jürgen", "łukasz", "zoë"})),
    Group("cue", frozenset({"dr", "m"})),
    Group("stem", frozenset({"diabet", "tumor", "asthm"}), "prefix"),
    Group("end", frozenset({"itis", "krebs"}), "suffix"),
    Group("part", frozenset({"diagn"}), "infix"),
)


@pytest.mark.parametrize("matcher", MATCHER_NAMES)
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Anna met Dr. Jürgen", {"given": {"anna", "jürgen"}, "cue": {"dr"}}),
        ("ANNA, anna; Anna's", {"given": {"anna"}}),
        ("Annabel and Joanna", {}),  # a given name inside a longer word is not one
        ("M. Dupont", {"cue": {"m"}}),
        ("diabetic, Diabetes and tumors", {"stem": {"diabetic", "diabetes", "tumors"}}),
        ("tumor alone; asthma2", {"stem": {"tumor", "asthma"}}),  # a digit ends a word
        ("prediabetic", {}),  # a prefix must start the word
        ("Darmkrebs, arthritis; itis", {"end": {"darmkrebs", "arthritis", "itis"}}),
        ("krebsvorsorge", {}),  # a suffix must end the word
        ("Vordiagnose und Diagnostik", {"part": {"vordiagnose", "diagnostik"}}),
        ("Łukasz and zoë wrote to ZOË", {"given": {"łukasz", "zoë"}}),
        ("", {}),
        ("12345 @@@ ---", {}),
    ],
)
def test_each_part_finds_whole_words(matcher: str, text: str, found: dict[str, set[str]]) -> None:
    lex = Lexicon(GROUPS, matcher=matcher)
    got = lex.find(TextScan(text))
    assert {k: set(v) for k, v in got.items() if v} == found
    assert got == expected(lex.groups, text)


@pytest.mark.parametrize("matcher", MATCHER_NAMES)
def test_entries_that_are_not_one_word_are_left_out(matcher: str) -> None:
    lex = Lexicon([Group("g", frozenset({"o'neil", "anna-lena", "Anna", "x1", "", "lena"}))], matcher=matcher)
    assert lex.groups[0].entries == {"lena"}
    assert lex.find(TextScan("O'Neil and Anna-Lena")) == {"g": frozenset({"lena"})}


@pytest.mark.parametrize("matcher", MATCHER_NAMES)
def test_a_lexicon_without_entries_finds_nothing(matcher: str) -> None:
    lex = Lexicon([Group("g", frozenset()), Group("p", frozenset(), "prefix")], matcher=matcher)
    assert lex.find(TextScan("anything at all")) == {"g": frozenset(), "p": frozenset()}


def _corpus() -> list[str]:
    rng = random.Random(11)
    texts = ordinary_corpus(seed=5, count=60, size=1024)
    for name in ("labelled", "blind", "blind2"):  # the labelled sets, in every language
        with (Path(__file__).parent / "data" / f"pii_{name}.jsonl").open(encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f if line.strip()]
    # the detectors' own words in every case and glued to punctuation, digits and each other
    pool = sorted(names.lexicon()[0])[:400] + sorted(health._KEYS) + ["migration", "darmkrebs", "diagnosed"]
    for _ in range(150):
        words = [rng.choice(pool) for _ in range(rng.randint(1, 30))]
        words = [w.upper() if rng.random() < 0.1 else w.title() if rng.random() < 0.3 else w for w in words]
        glue = [" ", "  ", ", ", "-", "'", "1", "\n", "ß", "é", "İ", "’", "_", "\u00a0"]
        texts.append("".join(w + rng.choice(glue) for w in words))
    return texts


CORPUS = _corpus()


def test_hyperscan_and_sets_agree_with_the_definition_on_the_detectors_lists() -> None:
    """The shared lexicon as the detectors use it (given names, cues, health keys, stems)."""
    groups = lexicon._shared().groups
    by_name = {name: Lexicon(groups, matcher=name) for name in MATCHER_NAMES}
    assert all(lex.groups == by_name["sets"].groups for lex in by_name.values())
    for text in CORPUS:
        want = expected(groups, text)
        for name, lex in by_name.items():
            assert lex.find(TextScan(text)) == want, (name, text[:80])


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii, Words! and 42 numbers",
        "Grüße aus Łódź: İstanbul ſtraße",
        "ÀÉÎ õü ĀŽ ΑΒΓ",
        "",
        "   ",
        "a",
    ],
)
def test_spaced_holds_the_words_between_single_spaces(text: str) -> None:
    scan = TextScan(text)
    spaced = scan.spaced
    assert spaced.startswith(b" ") and spaced.endswith(b" ")
    assert frozenset(spaced.decode().split(" ")) - {""} == scan.words == defined_words(text)


@pytest.mark.parametrize("script", ["latin", "other"])
def test_spaced_keeps_exactly_the_word_letters_of_every_character(script: str) -> None:
    """Every character up to U+2FFF (and one outside the BMP, and a lone surrogate), inside
    mostly-ASCII text and inside text of another script (the two ways `spaced` is built)."""
    filler = "plain words here " * 4 if script == "latin" else "слово " * 12
    chars = [chr(i) for i in range(0x80, 0x3000) if not 0xD800 <= i < 0xE000] + ["\U0001f600", "\ud800"]
    for char in chars:
        for text in (f"{filler}ab{char}cd", f"{filler}{char.upper()}y {char * 3}z"):
            scan = TextScan(text)
            spaced = scan.spaced.decode("utf-8", "surrogatepass")
            assert frozenset(spaced.split(" ")) - {""} == defined_words(text), (hex(ord(char)), text)


def test_a_scan_asks_the_matcher_once() -> None:
    calls = []

    class Counting:
        def find(self, scan: TextScan) -> dict[str, frozenset[str]]:
            calls.append(scan)
            return {"g": frozenset()}

    scan = TextScan("some text")
    counting = Counting()
    assert scan.lexicon(counting) is scan.lexicon(counting)
    assert len(calls) == 1


def test_threads_scan_with_their_own_scratch_space() -> None:
    lex = Lexicon(lexicon._shared().groups, matcher="hyperscan")
    texts = CORPUS[:40]
    want = [lex.find(TextScan(t)) for t in texts]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert [lex.find(TextScan(t)) for t in texts] == want
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A private copy of the shared registry, so that these tests register freely."""
    shared = dict(lexicon._SHARED)
    monkeypatch.setattr(lexicon, "_SHARED", shared)
    monkeypatch.setattr(lexicon, "_combined", None)
    return shared  # type: ignore[return-value]


def test_shared_lexicons_are_found_in_one_pass(registry: dict[str, object]) -> None:
    one = SharedLexicon("test-one", lambda: [Group("a", frozenset({"alpha"}))])
    two = SharedLexicon(
        "test-two", lambda: [Group("a", frozenset({"beta"})), Group("s", frozenset({"gam"}), "prefix")]
    )
    scan = TextScan("Alpha beta gamma")
    found = one.find(scan)
    assert found is two.find(scan)  # one lexicon, one pass, one answer
    assert (one.key("a"), two.key("a")) == ("test-one.a", "test-two.a")
    assert found[one.key("a")] == {"alpha"}
    assert found[two.key("a")] == {"beta"} and found[two.key("s")] == {"gamma"}
    assert one.prepare() is two.prepare()
    assert len(scan._lexicons) == 1
    # the detectors' own lists are in the same lexicon
    assert found[names.GATES.key("cue")] == frozenset() and found[health.GATES.key("key")] == frozenset()


def test_a_late_registration_rebuilds_the_shared_lexicon(registry: dict[str, object]) -> None:
    first = SharedLexicon("test-first", lambda: [Group("a", frozenset({"alpha"}))])
    before = first.prepare()
    late = SharedLexicon("test-late", lambda: [Group("a", frozenset({"omega"}))])
    found = late.find(TextScan("omega alpha"))
    assert found[late.key("a")] == {"omega"} and found[first.key("a")] == {"alpha"}
    assert first.prepare() is not before


def test_a_name_is_registered_once(registry: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="'health' is registered twice"):
        SharedLexicon("health", lambda: [])


def test_building_a_scanner_builds_the_shared_matcher(registry: dict[str, object]) -> None:
    """No request pays for compiling the lists: the detectors prepare them when they are made."""
    PiiScanner(PiiConfig())
    assert lexicon._combined is not None


def test_business_words_with_a_health_stem_do_not_wake_the_health_terms() -> None:
    """'migration' shares five letters with 'migraine': with six-letter stems it is no key word,
    and 'Migräne'/'migraine' and the inflections of five-letter keys still are."""
    keys, _ = health._key_words(TextScan("The migration of the build pipeline, migrated twice."))
    assert keys == frozenset()
    keys, _ = health._key_words(TextScan("Her migraines and tumors are back."))
    assert keys == {"migraines", "tumors"}


def test_an_icd_cue_inside_a_word_still_wakes_the_icd_pattern() -> None:
    scanner = PiiScanner(PiiConfig())
    found = scanner.scan_text("Meine Vordiagnose beim Arzt war E11.9.").matches
    assert [(m.kind, m.value) for m in found] == [("health", "E11.9")]
    assert health._key_words(TextScan("Vordiagnose"))[1] is True
    assert health._key_words(TextScan("Diag nose"))[1] is False
