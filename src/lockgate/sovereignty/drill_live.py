"""The live part of the drill: one real chat request per alias through a running gateway.

Each request carries ``x-lockgate-drill-cut`` (comma-separated targets); the gateway honours it
for admin keys only and answers as if those cuts were in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import openai

DRILL_HEADER = "x-lockgate-drill-cut"
PROVIDER_HEADER = "x-lockgate-provider"
PROMPT = "lockgate exit drill: reply with the single word OK."


@dataclass(frozen=True, slots=True)
class LiveResult:
    alias: str
    status: int | None  # HTTP status; None when the gateway could not be reached
    provider: str | None  # x-lockgate-provider of the answer
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _base_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def _one(client: openai.OpenAI, alias: str, cuts: Sequence[str]) -> LiveResult:
    headers = {DRILL_HEADER: ",".join(cuts)} if cuts else {}
    try:
        raw = client.chat.completions.with_raw_response.create(
            model=alias,
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=8,
            extra_headers=headers,
        )
    except openai.APIStatusError as exc:
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        provider = exc.response.headers.get(PROVIDER_HEADER)
        return LiveResult(alias, exc.status_code, provider, str(message or exc.message))
    except openai.APIConnectionError as exc:
        return LiveResult(alias, None, None, f"cannot reach the gateway: {exc}")
    return LiveResult(alias, raw.http_response.status_code, raw.headers.get(PROVIDER_HEADER))


def live_check(
    url: str, key: str, aliases: Sequence[str], cuts: Sequence[str], timeout: float = 60.0
) -> list[LiveResult]:
    """Send one request per alias with the cuts applied; never raises for HTTP failures."""
    with openai.OpenAI(base_url=_base_url(url), api_key=key, max_retries=0, timeout=timeout) as client:
        return [_one(client, alias, cuts) for alias in aliases]
