"""Prompts for the engine section: distinct 64-token questions, and a long conversation whose
follow-up turn should only prefill what is new (prefix reuse).

Chat clients resend the whole conversation every turn.  ``follow_up`` sends a conversation of
about 1,500 tokens (first turn), then the same conversation with the model's answer and one
more question (follow-up turn), and compares the two times to first token.  A nonce at the
start of each conversation keeps one round's cache from helping the next.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from dataclasses import dataclass
from typing import Any

from lockbench.loadgen import HttpTarget
from lockbench.sse import first_token_ms

_TOPICS = (
    "the quarterly invoice run for the Lyon warehouse",
    "a delayed pallet of bearings bound for Gdansk",
    "renewing the support contract for the Utrecht office printers",
    "a price change on the spring catalogue for garden furniture",
    "moving the Milan team's shared drive to the new storage cluster",
    "an audit of the expense policy for travel by rail",
    "training sessions for the new ticketing tool in Valencia",
    "a supplier's request to change its bank details by e-mail",
)

_FILLER = (
    "Please summarise the open points, list who owns each one, say which deadline is at risk, "
    "and propose the next step for the team. Keep the tone factual and the answer short, and "
    "mention any document we still need from the other side before Friday's review meeting."
)


def question(i: int) -> str:
    """A distinct business question of about 64 tokens with the chat template."""
    topic = _TOPICS[i % len(_TOPICS)]
    return f"Request {i + 1}: we need an update on {topic}. {_FILLER}"


def conversation(nonce: int, turns: int = 6) -> list[dict[str, str]]:
    """A support conversation of roughly 1,500 tokens (SmolLM2's tokenizer), unique per nonce."""
    messages = [{"role": "system", "content": f"Case {nonce:08d}. You are a concise operations assistant."}]
    for t in range(turns):
        topic = _TOPICS[(nonce + t) % len(_TOPICS)]
        messages.append({"role": "user", "content": f"Turn {t + 1} on {topic}. {_FILLER} {_FILLER}"})
        messages.append(
            {
                "role": "assistant",
                "content": f"Noted for {topic}: the owners are listed in the tracker, the deadline at "
                f"risk is the review on Friday, and the next step is a call with the supplier. {_FILLER}",
            }
        )
    return messages


@dataclass(frozen=True)
class FollowUp:
    via: str
    first_ms: float
    follow_ms: float

    @property
    def ratio(self) -> float:
        return self.follow_ms / self.first_ms if self.first_ms > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"via": self.via, "first_turn_ttft_ms": round(self.first_ms, 1),
                "follow_up_ttft_ms": round(self.follow_ms, 1), "ratio": round(self.ratio, 3)}  # fmt: skip


def _target(url: str, headers: dict[str, str], model: str, messages: list[dict[str, str]]) -> HttpTarget:
    body = {"model": model, "messages": messages, "max_tokens": 12, "temperature": 0.0, "stream": True}
    return HttpTarget(url, json.dumps(body).encode(), headers)


async def _round(url: str, headers: dict[str, str], model: str, nonce: int) -> tuple[float, float]:
    messages = conversation(nonce)
    first, answer = await first_token_ms(_target(url, headers, model, messages))
    messages = [*messages, {"role": "assistant", "content": answer},
                {"role": "user", "content": "Thanks. Which of these points should go first?"}]  # fmt: skip
    follow, _ = await first_token_ms(_target(url, headers, model, messages))
    return first, follow


def follow_up(via: str, url: str, headers: dict[str, str], model: str, rounds: int = 3,
              seed: int = 0) -> FollowUp:  # fmt: skip
    """Median first-turn and follow-up-turn TTFT over ``rounds`` fresh conversations."""
    firsts, follows = [], []
    for r in range(rounds):
        first, follow = asyncio.run(_round(url, headers, model, seed * 100 + r + 1))
        firsts.append(first)
        follows.append(follow)
    return FollowUp(via, statistics.median(firsts), statistics.median(follows))
