"""Exact token usage for streamed llama.cpp generations.

llama-cpp-python reports ``usage`` only for non-streamed calls.  During a generation it
first detokenizes ``completion_tokens`` against ``prev_tokens=prompt_tokens`` — the very
lists (growing in place) it counts for non-streamed usage.  ``UsageCounter`` wraps
``detokenize`` on the instance and keeps references to the lists passed by the first call of
each generation, so streamed counts equal what a non-streamed call reports.
"""

from __future__ import annotations

from typing import Any


class UsageCounter:
    def __init__(self, llm: Any) -> None:
        self._prompt: list[int] | None = None
        self._completion: list[int] | None = None
        original = llm.detokenize

        def detokenize(tokens: Any, prev_tokens: Any = None, special: bool = False) -> bytes:
            # the first call of a generation passes the live lists; later calls pass slices
            if self._completion is None and prev_tokens is not None and isinstance(tokens, list):
                self._prompt, self._completion = prev_tokens, tokens
            return bytes(original(tokens, prev_tokens=prev_tokens, special=special))

        llm.detokenize = detokenize

    def reset(self) -> None:
        self._prompt = self._completion = None

    def counts(self) -> dict[str, int]:
        prompt = len(self._prompt or ())
        completion = len(self._completion or ())
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
