"""What is measured: the peers, the request bodies, lockgate's feature lines and their configs.

Everything here is data and pure functions, so the configs can be checked without starting
anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockbench.loadgen import HttpTarget

SHORT_PROMPT = "Say hello in one short sentence."
_PARAGRAPH = (
    "The quarterly planning meeting covered the roadmap for the next release, the migration of "
    "the build pipeline to the new runners, and the plan for improving the onboarding guide. "
    "The team agreed to keep the scope small, to write the design notes before the code, and to "
    "review the open questions again at the end of the month. "
)
LONG_PROMPT = (_PARAGRAPH * (2048 // len(_PARAGRAPH) + 1))[:2048]
PROMPTS = {"short": SHORT_PROMPT, "2kb": LONG_PROMPT}
ALL_PROMPTS = tuple(PROMPTS)

# Facts that make the upstream eligible under the built-in eu-sovereign policy.
EU_FACTS: dict[str, Any] = {
    "operator_country": "DE",
    "parent_jurisdiction": "DE",
    "foreign_access_laws": [],
    "processing_locations": ["DE"],
    "self_hosted": False,
}


def _chat_body(model: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}


def _messages_body(model: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    return {"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}


def _responses_body(model: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    return {"model": model, "input": prompt, "max_output_tokens": max_tokens, "store": False}


# protocol -> (path, or None for the endpoint's chat path; body builder).  The same question in
# each protocol, so the agent protocols' adapter cost reads directly against chat completions.
PROTOCOL_BODIES: dict[str, tuple[str | None, Any]] = {
    "chat": (None, _chat_body),
    "messages": ("/v1/messages", _messages_body),
    "responses": ("/v1/responses", _responses_body),
}
ADAPTER_PROTOCOLS = ("messages", "responses")


@dataclass(frozen=True)
class Endpoint:
    """How a client reaches one peer: base URL, paths, model names, key."""

    name: str
    base_url: str
    key: str
    model: str = "bench"
    sse_model: str = "bench-stream"
    chat_path: str = "/v1/chat/completions"
    sse_path: str = "/v1/chat/completions"
    protocol: str = "chat"  # the client protocol of ``chat()``: one of PROTOCOL_BODIES

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}

    def chat(self, prompt: str, max_tokens: int = 16) -> HttpTarget:
        path, build = PROTOCOL_BODIES[self.protocol]
        body = build(self.model, prompt, max_tokens)
        return HttpTarget(
            self.base_url + (path or self.chat_path), json.dumps(body).encode(), self._headers()
        )

    def stream(self, prompt: str, max_tokens: int = 64, **extra: Any) -> HttpTarget:
        body = {
            "model": self.sse_model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "stream": True,
            **extra,
        }
        return HttpTarget(self.base_url + self.sse_path, json.dumps(body).encode(), self._headers())


@dataclass(frozen=True)
class Features:
    """One lockgate configuration: which request-path features are on, and the prompts sent to it."""

    name: str
    policy: bool
    pii: bool
    audit: bool
    prompts: tuple[str, ...] = ("short",)
    workers: int = 1  # lockgate serve --workers


# Auth is always on (one API key required, like every peer).  "auth" is the line compared with
# the other peers; the others show what each feature costs on top of it.
HEADLINE = "auth"
TARGET_LINE = "auth+policy+audit"
FULL_LINE = "all"  # every feature on: the tail-latency targets (issue 17) are checked on it
WORKERS_LINE = "all, 2 workers"  # the same with serve --workers 2 (issue 16): its ratio to FULL_LINE
FEATURE_LINES: tuple[Features, ...] = (
    Features(HEADLINE, policy=False, pii=False, audit=False, prompts=("short", "2kb")),
    Features("auth+policy", policy=True, pii=False, audit=False),
    Features("auth+pii", policy=False, pii=True, audit=False, prompts=("2kb",)),
    Features("auth+audit", policy=False, pii=False, audit=True),
    Features(TARGET_LINE, policy=True, pii=False, audit=True),
    Features(FULL_LINE, policy=True, pii=True, audit=True, prompts=("2kb",)),
    Features(WORKERS_LINE, policy=True, pii=True, audit=True, prompts=("2kb",), workers=2),
)


def lockgate_config(
    features: Features, port: int, data_dir: Path, routes: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """A lockgate.yaml as a dict; ``routes`` maps alias -> (upstream base URL, upstream model)."""
    providers = {
        f"p-{alias}": {
            "kind": "openai",
            "base_url": base_url,
            "api_key": "${BENCH_UPSTREAM_KEY:-x}",
            "facts": EU_FACTS,
        }
        for alias, (base_url, _model) in routes.items()
    }
    models = {
        alias: {"deployments": [{"provider": f"p-{alias}", "model": model}]}
        for alias, (_base, model) in routes.items()
    }
    return {
        "data_dir": str(data_dir),
        "server": {"host": "127.0.0.1", "port": port},
        "logging": {"level": "warning", "access_log": False},
        "auth": {"mode": "keys", "admin_key": "${BENCH_KEY}"},
        "providers": providers,
        "models": models,
        "policies": {"default": "eu-sovereign" if features.policy else None},
        # cache off: every request pays the full scan, as a new prompt would
        "pii": {"enabled": features.pii, "cache_entries": 0},
        "audit": {"enabled": features.audit},
    }


def litellm_config(routes: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The equivalent LiteLLM proxy config: same aliases, master key required, no DB, no callbacks."""
    model_list = [
        {
            "model_name": alias,
            "litellm_params": {
                "model": f"openai/{model}",
                "api_base": base_url,
                "api_key": "os.environ/BENCH_UPSTREAM_KEY",
            },
        }
        for alias, (base_url, model) in routes.items()
    ]
    return {
        "model_list": model_list,
        "litellm_settings": {
            "telemetry": False,
            "drop_params": True,
            "callbacks": [],
            "success_callback": [],
        },
        "general_settings": {"master_key": "os.environ/BENCH_KEY", "disable_spend_logs": True},
    }


def upstream_routes(upstream_base: str, model: str) -> dict[str, tuple[str, str]]:
    """Aliases ``bench`` (fixed completion) and ``bench-stream`` (fixed SSE) on the static upstream."""
    return {"bench": (f"{upstream_base}/v1", model), "bench-stream": (f"{upstream_base}/sse/v1", model)}
