"""Which of a detector's listed words a text holds: whole words, word starts, ends or parts.

The names and health detectors gate their patterns on word lists (given names, salutations,
medication and condition names, "-itis" endings). A text's *words* are its runs of lower-case
letters after lower-casing (`candidates.WORD`; `TextScan.spaced` holds them). A detector's lists are named
`Group`s, each matching in one way (its `Part`):

* `whole`: a word of the text is an entry ("anna", "dr");
* `prefix`: a word starts with an entry ("diabet" finds "diabetic");
* `suffix`: a word ends with one ("krebs" finds "darmkrebs");
* `infix`: a word holds one anywhere ("diagn" finds "prediagnosed").

A lookup gives, for every group, the words of the text it matched (always the whole word, not
the entry). Two matchers answer the same, and `MATCHERS` registers them in order of preference;
the first whose library imports is used:

* `hyperscan`: every entry compiled into one Hyperscan literal database and scanned once over
  `TextScan.spaced`, the words between single spaces (" anna " is the whole word, " diabet" a
  word start). No string per word is built.
* `sets`: the text's word set (one `frozenset`) intersected with each group in C. It needs no
  native library and is the reference the tests hold the other to.

Detectors register their lists with `SharedLexicon`: one matcher covers every detector's lists,
so a text is scanned once for all of them. On a 2 KB prompt the shared Hyperscan lookup takes
about 7 µs where the word set alone took 28 µs (`bench/pii_scan.py`; docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import compress, repeat
from operator import itemgetter, methodcaller
from typing import TYPE_CHECKING, Literal, Protocol, cast

from lockgate.pii.candidates import WORD, TextScan

if TYPE_CHECKING:
    import hyperscan

Part = Literal["whole", "prefix", "suffix", "infix"]
Found = Mapping[str, frozenset[str]]
Select = Callable[[tuple[str, ...], frozenset[str]], Iterable[str]]


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    entries: frozenset[str]
    part: Part = "whole"


@dataclass(frozen=True, slots=True)
class _Rule:
    """How one `Part` is found: as a literal in the spaced text, and in the word set."""

    literal: str  # the entry between the spaces that mark its place in a word
    around: bytes  # a pattern for the whole words around a reported entry ({} is the entry)
    select: Callable[[frozenset[str]], Select]  # entries -> (words, word set) -> matched words


def _whole(entries: frozenset[str]) -> Select:
    return lambda _ordered, words: words & entries


def _starts(entries: frozenset[str]) -> Select:
    """Many word starts: each word's first n letters looked up in a set, one `map` per entry
    length n (in C); `str.startswith` over hundreds of entries would test each in turn."""
    lengths = [
        (itemgetter(slice(0, n)), frozenset(e for e in entries if len(e) == n))
        for n in {len(e) for e in entries}
    ]

    def select(ordered: tuple[str, ...], _words: frozenset[str]) -> Iterable[str]:
        found: set[str] = set()
        for start, these in lengths:  # a word shorter than n slices to itself
            found.update(compress(ordered, map(these.__contains__, map(start, ordered))))
        return found

    return select


def _ends(entries: frozenset[str]) -> Select:
    """A few word endings: one `str.endswith` over the tuple of them per word, in C."""
    ends = methodcaller("endswith", tuple(entries))
    return lambda ordered, _words: compress(ordered, map(ends, ordered))


def _inside(entries: frozenset[str]) -> Select:
    def select(ordered: tuple[str, ...], _words: frozenset[str]) -> Iterable[str]:
        found: set[str] = set()
        for entry in entries:
            found.update(compress(ordered, map(str.__contains__, ordered, repeat(entry))))
        return found

    return select


_RULES: dict[Part, _Rule] = {
    "whole": _Rule(" {} ", b"", _whole),
    "prefix": _Rule(" {}", rb" ({}[^ ]*)", _starts),
    "suffix": _Rule("{} ", rb"(?<= )([^ ]*{}) ", _ends),
    "infix": _Rule("{}", rb"(?<= )([^ ]*{}[^ ]*)", _inside),
}


class Matcher(Protocol):
    """Finds a lexicon's groups in a scanned text; built once per lexicon."""

    def find(self, scan: TextScan) -> Found: ...


class SetMatcher:
    """Set algebra over the text's word set (`TextScan.words`); every loop runs in C."""

    def __init__(self, groups: tuple[Group, ...]) -> None:
        self._steps = [(group.name, _RULES[group.part].select(group.entries)) for group in groups]

    def find(self, scan: TextScan) -> Found:
        words = scan.words
        ordered = tuple(words)
        return {name: frozenset(select(ordered, words)) for name, select in self._steps}


class HyperscanMatcher:
    """One Hyperscan literal database over every group's entries, scanned over `TextScan.spaced`.
    Each literal reports once per text (a Python call per report is most of the cost); the
    words around a reported entry are then read off with one regular expression."""

    def __init__(self, groups: tuple[Group, ...]) -> None:
        import hyperscan

        self._names = tuple(group.name for group in groups)
        self._none: Found = {name: frozenset() for name in self._names}
        # per literal id: (group name, part, the entry)
        self._ids = [
            (group.name, group.part, entry.encode()) for group in groups for entry in sorted(group.entries)
        ]
        self._db: hyperscan.Database | None = None
        if self._ids:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(
                expressions=[
                    _RULES[part].literal.format(entry.decode()).encode() for _, part, entry in self._ids
                ],
                ids=list(range(len(self._ids))),
                elements=len(self._ids),
                flags=hyperscan.HS_FLAG_SINGLEMATCH,
                literal=True,
            )
            self._db = db
            _return_freed_memory()
        self._hyperscan = hyperscan
        self._local = threading.local()  # a scratch space serves one thread at a time

    def find(self, scan: TextScan) -> Found:
        if self._db is None:
            return self._none
        spaced = scan.spaced
        reported: list[int] = []
        self._db.scan(spaced, match_event_handler=_collect, context=reported, scratch=self._scratch(self._db))
        if not reported:  # most texts
            return self._none
        found: dict[str, set[str]] = {name: set() for name in self._names}
        for literal_id in reported:
            name, part, entry = self._ids[literal_id]
            if part == "whole":  # the entry is the word
                found[name].add(entry.decode())
            else:
                found[name].update(map(bytes.decode, _around(part, entry).findall(spaced)))
        return {name: frozenset(words) for name, words in found.items()}

    def _scratch(self, db: hyperscan.Database) -> hyperscan.Scratch:
        scratch: hyperscan.Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hyperscan.Scratch(db)
        return scratch


def _return_freed_memory() -> None:
    """Hand the compiler's freed working memory back to the OS (about 15 MB for the detectors'
    lists, which glibc would otherwise keep in the serving process's heap for good)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl, Windows): nothing to do
        return
    trim(0)


def _collect(literal_id: int, _start: int, _end: int, _flags: int, reported: object) -> None:
    cast(list[int], reported).append(literal_id)


@cache
def _around(part: Part, entry: bytes) -> re.Pattern[bytes]:
    """The whole words around an entry in the spaced text (its words are between spaces)."""
    return re.compile(_RULES[part].around.replace(b"{}", re.escape(entry)))


def _hyperscan(groups: tuple[Group, ...]) -> Matcher:
    return HyperscanMatcher(groups)


def _sets(groups: tuple[Group, ...]) -> Matcher:
    return SetMatcher(groups)


# The one place matchers are registered, in order of preference.
MATCHERS: dict[str, Callable[[tuple[Group, ...]], Matcher]] = {"hyperscan": _hyperscan, "sets": _sets}


def available() -> str:
    """The first matcher in `MATCHERS` whose library imports here."""
    try:
        import hyperscan  # noqa: F401
    except ImportError:  # no wheel for this platform: the sets answer the same, slower
        return "sets"
    return "hyperscan"


class Lexicon:
    """Word lists with a matcher of their own; `find(scan)` gives each group's words found in
    the text. Detectors use `SharedLexicon`, which finds every detector's lists in one pass."""

    __slots__ = ("groups", "matcher", "matcher_name")

    def __init__(self, groups: Iterable[Group], matcher: str | None = None) -> None:
        # an entry that is not one word (a hyphen, an apostrophe, a capital) can never match
        self.groups = tuple(
            Group(g.name, frozenset(filter(WORD.fullmatch, g.entries)), g.part) for g in groups
        )
        self.matcher_name = matcher or available()
        self.matcher = MATCHERS[self.matcher_name](self.groups)

    def find(self, scan: TextScan) -> Found:
        return scan.lexicon(self.matcher)


# Every detector's word lists by detector name (a loader each, so that a large list such as the
# given names is read only when a scanner is built); one lexicon covers them all.
_SHARED: dict[str, Callable[[], Iterable[Group]]] = {}
_combined: tuple[int, Lexicon] | None = None  # (how many lists were registered, their lexicon)


def _shared() -> Lexicon:
    if _combined is None or _combined[0] != len(_SHARED):
        return use_matcher(None)
    return _combined[1]


def use_matcher(matcher: str | None) -> Lexicon:
    """Rebuild the shared lexicon with the named matcher (None: the preferred one available);
    for benchmarks and tests that compare the matchers."""
    global _combined
    groups = (Group(f"{name}.{g.name}", g.entries, g.part) for name, load in _SHARED.items() for g in load())
    _combined = (len(_SHARED), Lexicon(groups, matcher))
    return _combined[1]


class SharedLexicon:
    """One detector's word lists in the shared lexicon: every registered list is found in the
    same pass over a text (one Hyperscan database; one scan of it costs less than two scans of
    half the size). Register at import time; `prepare()` builds the matcher when a detector is
    made, so that no request pays for it. `find(scan)` answers for every registered list: a
    detector reads its own groups under `key(group)`."""

    __slots__ = ("name",)

    def __init__(self, name: str, groups: Callable[[], Iterable[Group]]) -> None:
        if name in _SHARED:
            raise ValueError(f"lexicon {name!r} is registered twice")
        _SHARED[name] = groups
        self.name = name

    def key(self, group: str) -> str:
        return f"{self.name}.{group}"

    def prepare(self) -> Lexicon:
        return _shared()

    def find(self, scan: TextScan) -> Found:
        return scan.lexicon(_shared().matcher)
