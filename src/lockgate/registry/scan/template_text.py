"""Text heuristics shared by the static and rendered chat-template checks."""

from __future__ import annotations

import re

ROLE_NAMES = frozenset(
    {"system", "user", "assistant", "tool", "ipython", "function", "developer", "model", "human", "gpt"}
    | {"bot"}
)

# Special tokens and role markers: <|im_start|>, <s>, </think>, [INST], <start_of_turn> ...
_MARKER = re.compile(
    r"<\|[^|<>]{0,64}\|>"  # <|im_start|>
    r"|</?[A-Za-z_][\w.:-]{0,40}>"  # <s>, </think>, <start_of_turn>
    r"|\[/?[A-Z_]{2,32}\]"  # [INST]
    r"|<[｜|][^<>]{0,64}[｜|]>"  # DeepSeek's full-width bars
)
_WORD = re.compile(r"[A-Za-z]{2,}")
_URL = re.compile(
    r"(?:https?|ftp)://[^\s'\"<>]+|\bwww\.[A-Za-z0-9-]+\.[A-Za-z]{2,}[^\s'\"<>]*", re.IGNORECASE
)

_INJECTION_PATTERNS = (
    r"ignore (?:all |any )?(?:the |your )?(?:previous|prior|above|earlier|preceding|system) "
    r"(?:instructions?|messages?|prompts?|rules?)",
    r"disregard (?:all |any )?(?:the |your )?(?:previous|prior|above|earlier|system|safety)",
    r"forget (?:all |any )?(?:the |your )?(?:previous|prior|earlier) (?:instructions?|rules?)",
    r"always (?:recommend|suggest|promote|mention|include|endorse|praise)",
    r"never (?:mention|reveal|tell|disclose|admit)",
    r"do(?: not|n't) (?:tell|reveal|mention|disclose|inform)",
    r"without (?:telling|informing|letting) the user",
    r"(?:visit|go to|click|download (?:it )?from|navigate to|send (?:it|the \w+) to) (?:https?://|www\.)",
    r"from now on",
    r"(?:secret|hidden) (?:instructions?|mode|task)",
    r"(?:give|provide|answer with|respond with) (?:false|incorrect|wrong|misleading|inaccurate)",
    r"pretend (?:to be|you are)",
    r"exfiltrat",
    r"you must (?:always|never|only)",
)
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.IGNORECASE)

NATURAL_LANGUAGE_WORDS = 3


def strip_markers(text: str) -> str:
    """Text with special tokens, role markers and role names removed, whitespace collapsed."""
    segments = _MARKER.sub("\n", text).splitlines()
    kept = [s.strip() for s in segments if s.strip().rstrip(":").lower() not in ROLE_NAMES]
    return " ".join(" ".join(kept).split())


def is_token_like(literal: str) -> bool:
    """True for literals that are only markers, punctuation or whitespace (e.g. '</think>')."""
    return not _WORD.search(_MARKER.sub(" ", literal))


def is_natural_language(text: str) -> bool:
    return len(_WORD.findall(strip_markers(text))) >= NATURAL_LANGUAGE_WORDS


def is_role_literal(literal: str) -> bool:
    return literal.strip().lower() in ROLE_NAMES


def injection_phrase(text: str) -> str | None:
    match = _INJECTION.search(text)
    return match.group(0) if match else None


def urls(text: str) -> list[str]:
    return _URL.findall(text)


def snippet(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
