"""One cheap pass over a text that tells every detector where its identifiers can start.

Scanning a 2 KB prompt with ten patterns costs ten passes of Python's regular-expression engine
over every character. `TextScan` makes at most two passes instead, each with a pattern whose
first character class lets the engine skip plain prose in C, and records two kinds of spots:

* **number clusters**: a run of digits and the separators identifiers are printed with
  (`[ \\-./()]`), starting at a digit, `+` or `(`, holding at least six digits. Every card,
  phone number and numeric national ID lies inside one cluster (they hold seven or more digits
  and nothing else but those separators), so their patterns only run over clusters.
* **capital anchors**: an upper-case letter followed by another one and then a digit within a
  few characters (IBAN, VAT prefixes) or by the letters of a codice fiscale.

A detector then runs its own, unchanged pattern with `search_windows` / `match_starts`, which
reproduce `pattern.finditer(text)` for the matches that start inside those spots: the same
matches, the same left-to-right non-overlapping order, the same look-behind and look-ahead
context (the engine sees the whole text, up to a bounded reach past each spot).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol


class WordMatcher(Protocol):
    """What `TextScan.lexicon` needs of a word-list matcher (`lockgate.pii.lexicon.Matcher`)."""

    def find(self, scan: TextScan) -> Mapping[str, frozenset[str]]: ...


class Stems(Protocol):
    """What `TextScan.keyword_positions` needs of a keyword set (`lockgate.pii.keywords.Keywords`)."""

    def positions(self, lowered: str) -> list[int]: ...


Window = tuple[int, int]  # matches must start in [lo, hi)

# A digit, "+" or "(" and then at least five more digits, each after any run of separators. A
# digit right after a digit cannot start one (the run was tried from its first digit), which
# makes the engine give up at once inside the short numbers of ordinary text.
_CLUSTER = re.compile(r"[+(\d](?<!\d\d)(?:[ \-./()]*+\d){5,}+")
# The same for texts whose digits are all ASCII: a range test is several times cheaper per
# character than the Unicode digit category.
_CLUSTER_ASCII = re.compile(r"[+(0-9](?<![0-9][0-9])(?:[ \-./()]*+[0-9]){5,}+")
_OTHER_DIGIT = re.compile(r"[^\x00-\x7f](?<=\d)")  # a digit outside ASCII (Arabic-Indic, full-width)
# A capital, then another and a digit within reach (IBAN, VAT) or the letters of a codice fiscale.
# ("[A-Z .-]{0,16}+" then a digit: the first digit of the run within reach, without backtracking.)
# A run of lower-case Latin letters: a word, as the lexicon detectors (names, health) look
# words up (`TextScan.spaced` holds them; explicit ranges are several times cheaper per
# character than `[^\W\d_]`).
WORD = re.compile(r"[a-zß-öø-ÿĀ-ž]+")
# The characters outside ASCII that are not word letters (UTF-8 never holds one character's
# bytes inside another's, so each can be replaced in the encoded text).
_NOT_WORD_WIDE = re.compile(r"[^\x00-\x7fß-öø-ÿĀ-ž]")
_NOT_WORD = re.compile(r"[^a-zß-öø-ÿĀ-ž]+")
# For ASCII text: every byte that is not a letter becomes a space, capitals are lowered on the
# way (256 bytes, no dictionary).
_SPACED_ASCII = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256))
# For lower-cased text of any script: ASCII as above, every byte of a wider character kept.
_SPACED_WIDE = bytes(c if 97 <= c <= 122 or c >= 128 else 32 for c in range(256))
# Deleted from the encoded text, these leave the bytes of its wider characters, whole.
_ASCII = bytes(range(128))
_ANCHOR = re.compile(r"[A-Z](?=[A-Z](?:[A-Z .\-]{0,16}+\d|[A-Z]{4}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST]))")


class TextScan:
    """A text plus what the detectors share about it, each part computed once, on first use."""

    __slots__ = (
        "_anchors", "_clusters", "_keywords", "_lexicons", "_lowered", "_memo", "_places", "_spaced", "_words", "text",
    )  # fmt: skip

    def __init__(self, text: str) -> None:
        self.text = text
        self._clusters: list[Window] | None = None
        self._anchors: list[int] | None = None
        self._lowered: str | None = None
        self._places: bool | None = None
        self._keywords: dict[int, list[int]] = {}
        self._words: frozenset[str] | None = None
        self._spaced: bytes | None = None
        self._lexicons: dict[int, Mapping[str, frozenset[str]]] = {}
        self._memo: dict[str, object] = {}

    @property
    def clusters(self) -> list[Window]:
        """Spans of digit runs with separators that hold at least six digits, left to right."""
        if self._clusters is None:
            text = self.text
            ascii_digits = text.isascii() or _OTHER_DIGIT.search(text) is None
            pattern = _CLUSTER_ASCII if ascii_digits else _CLUSTER
            self._clusters = [hit.span() for hit in pattern.finditer(text)]
        return self._clusters

    @property
    def anchors(self) -> list[int]:
        """Positions of capitals that may start an IBAN, a VAT number or a codice fiscale."""
        if self._anchors is None:
            self._anchors = [hit.start() for hit in _ANCHOR.finditer(self.text)]
        return self._anchors

    @property
    def lowered(self) -> str:
        if self._lowered is None:
            self._lowered = self.text.lower()
        return self._lowered

    @property
    def words(self) -> frozenset[str]:
        """The distinct lower-cased words (runs of letters) of the text, for set look-ups in C:
        the words of `spaced`, which defines them."""
        if self._words is None:
            self._words = frozenset(self.spaced.decode("utf-8", "surrogatepass").split())
        return self._words

    @property
    def spaced(self) -> bytes:
        """The same words in text order as UTF-8, with every other character a space and a
        space at each end: "The plan!" is b" the plan  ". A word-list matcher finds the whole
        word w as " w ", a word start as " w" (no string per word is built; for ASCII text this
        is one byte-table `translate`)."""
        if self._spaced is None:
            text = self.text
            if text.isascii():
                self._spaced = b" " + text.encode("ascii").translate(_SPACED_ASCII) + b" "
            else:
                lowered = self.lowered
                encoded = lowered.encode("utf-8", "surrogatepass")
                if (len(encoded) - len(lowered)) * 8 < len(lowered):
                    # mostly ASCII (Latin text with accents): the table, then each wider
                    # character that is no word letter ("€", "’", "–") becomes a space
                    spaced = encoded.translate(_SPACED_WIDE)
                    wide = encoded.translate(None, _ASCII).decode("utf-8", "surrogatepass")
                    for char in set(wide):  # the few distinct wider characters, found in C
                        if _NOT_WORD_WIDE.match(char):
                            spaced = spaced.replace(char.encode("utf-8", "surrogatepass"), b" ")
                else:  # another script: one pass turns each run of non-letters into a space
                    spaced = _NOT_WORD.sub(" ", lowered).encode("utf-8", "surrogatepass")
                self._spaced = b" " + spaced + b" "
        return self._spaced

    def lexicon(self, matcher: WordMatcher) -> Mapping[str, frozenset[str]]:
        """What `matcher` finds of its word lists in this text, computed once per scan."""
        found = self._lexicons.get(id(matcher))
        if found is None:
            found = self._lexicons[id(matcher)] = matcher.find(self)
        return found

    @property
    def memo(self) -> dict[str, object]:
        """Results one detector shares with another for this text (the names a health term is
        near), computed once per scan."""
        return self._memo

    @property
    def lower_keeps_places(self) -> bool:
        """True when each character of `lowered` is the lower case of the one at the same place
        in `text`, as a case-insensitive pattern sees it ("İ" grows; "ı", "ſ" match "i", "s")."""
        if self._places is None:
            text = self.text
            self._places = len(self.lowered) == len(text) and "ı" not in text and "ſ" not in text
        return self._places

    def keyword_positions(self, keywords: Stems) -> list[int]:
        """Sorted positions in the lower-cased text where one of `keywords`' stems occurs."""
        found = self._keywords.get(id(keywords))
        if found is None:
            found = self._keywords[id(keywords)] = keywords.positions(self.lowered)
        return found


def search_windows(
    pattern: re.Pattern[str], text: str, windows: Iterable[Window], reach: int
) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, limited to the matches that start inside `windows`.

    `windows` are sorted and must hold every position where a match could start. The engine
    sees the text up to `reach` characters past each window: at least the longest a match (with
    its look-ahead) can run past the window's end, so no match is cut short.
    """
    done = 0
    size = len(text)
    for lo, hi in windows:
        pos = max(lo, done)
        stop = min(size, hi + reach)
        while pos < hi:
            hit = pattern.search(text, pos, stop)
            if hit is None or hit.start() >= hi:
                break
            yield hit
            done = pos = hit.end()


def match_starts(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, limited to matches at `starts` (sorted; every possible start)."""
    done = 0
    for start in starts:
        if start >= done:
            hit = pattern.match(text, start)
            if hit is not None:
                yield hit
                done = hit.end()
