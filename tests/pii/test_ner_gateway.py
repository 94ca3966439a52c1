"""The NER backend through a running gateway: gated at start, then policing what only it finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream

from lockgate.errors import ConfigError
from lockgate.registry.artifacts import AddOptions, add
from lockgate.storage.db import open_store

spacy = pytest.importorskip("spacy")

UNCUED = "Please loop in Daniel Okoro on the thread before Friday."


def _pipeline(target: Path) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": [{"TEXT": "Okoro"}]}])
    nlp.to_disk(target)
    return target


def _config(up: FakeUpstream, pipeline: Path) -> dict[str, Any]:
    return {
        "providers": {"up": remote(up.url, timeouts={"connect": 2, "read": 5})},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]}},
        "pii": {
            "action": "block",
            "types": {"name": "block"},
            "ner": {"enabled": True, "pipeline": str(pipeline)},
        },
    }


async def test_a_registered_pipeline_serves_and_blocks_what_only_it_finds(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    pipeline = _pipeline(tmp_path / "pipeline")
    (tmp_path / "state").mkdir()
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'lockgate.db'}")  # the gateway's own store
    add(store, pipeline, AddOptions(licence="MIT"))
    store.dispose()
    async with running_gateway(_config(upstream, pipeline), tmp_path) as (base, _):
        client = openai.AsyncOpenAI(base_url=base + "/v1", api_key="none", max_retries=0)
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await client.chat.completions.create(model="ok", messages=[{"role": "user", "content": UNCUED}])
        reply = await client.chat.completions.create(
            model="ok", messages=[{"role": "user", "content": "please send the report, thanks"}]
        )
        await client.close()
    assert denied.value.status_code == 403 and "(name)" in denied.value.message
    assert "Okoro" not in denied.value.message
    assert reply.choices[0].message.content == "fake says: please send the report, thanks"
    assert [r["messages"][0]["content"] for r in upstream.requests] == ["please send the report, thanks"]


async def test_an_unregistered_pipeline_stops_the_start(upstream: FakeUpstream, tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path / "pipeline")
    with pytest.raises(
        ConfigError, match=r"pii\.ner\.pipeline: refused by the model registry: .*not registered"
    ):
        async with running_gateway(_config(upstream, pipeline), tmp_path):
            pass  # pragma: no cover - the gateway must not start
