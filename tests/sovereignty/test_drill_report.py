from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lockgate.config.loader import load_config
from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.drill import AliasVerdict, UnknownPolicy, evaluated_policies, run_drill
from lockgate.sovereignty.drill_live import DRILL_HEADER, live_check

Build = Callable[..., GatewayConfig]
Spec = Callable[..., dict[str, Any]]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sovereign.yaml"


def insured_config(build: Build, spec: Spec, insured: bool) -> GatewayConfig:
    deps: list[dict[str, Any]] = [{"provider": "cn", "model": "deepseek-chat"}]
    if insured:
        deps.append({"provider": "local", "model": "r1-distill", "self_hosted_copy_of": "deepseek-chat"})
    return build(
        {"cn": spec("deepseek"), "eu": spec("scaleway"), "local": spec("local")},
        {
            "deepseek-chat": {"deployments": deps, "protected": True},
            "eu-chat": {"deployments": [{"provider": "eu", "model": "m"}]},
        },
    )


def pick(verdicts: list[AliasVerdict], alias: str, policy: str) -> AliasVerdict:
    return next(v for v in verdicts if v.alias == alias and v.policy == policy)


def test_insured_alias_falls_back_to_copy(build: Build, spec: Spec) -> None:
    report = run_drill(insured_config(build, spec, True), ["CN"], ["public-data"])
    v = pick(report.verdicts, "deepseek-chat", "public-data")
    assert v.status == "insured" and v.fallback_to_copy and v.has_copy
    assert v.serving == ("local/r1-distill",)
    assert [(e.deployment, e.policy, e.detail) for e in v.lost] == [("cn/deepseek-chat", "cut", "cut: CN")]
    assert pick(report.verdicts, "eu-chat", "public-data").status == "ok"
    assert report.dark_protected == []
    assert report.to_dict()["ok"] is True


def test_uninsured_protected_alias_goes_dark(build: Build, spec: Spec) -> None:
    report = run_drill(insured_config(build, spec, False), ["PRC-NIL"], ["public-data", "eu-sovereign"])
    v = pick(report.verdicts, "deepseek-chat", "public-data")
    assert v.status == "dark" and v.serving == () and not v.has_copy
    assert v.lost[0].detail == "cut: PRC-NIL"
    dark = pick(report.verdicts, "deepseek-chat", "eu-sovereign")
    assert dark.status == "dark" and dark.lost == () and dark.excluded[0].rule == "operator_country_in"
    data = report.to_dict()
    assert data["ok"] is False and data["dark_protected"] == ["deepseek-chat"]
    json.dumps(data)  # serialisable


def test_degraded_when_some_hosted_remain(build: Build, spec: Spec) -> None:
    cfg = build(
        {"us": spec("openai"), "eu": spec("mistral")},
        {"chat": {"deployments": [{"provider": "us", "model": "a"}, {"provider": "eu", "model": "b"}]}},
    )
    v = run_drill(cfg, ["US"], ["public-data"]).verdicts[0]
    assert v.status == "degraded" and v.serving == ("eu/b",) and not v.fallback_to_copy


def test_policy_exclusion_alone_counts_as_insured(build: Build, spec: Spec) -> None:
    report = run_drill(insured_config(build, spec, True), [], ["no-cn"])
    v = pick(report.verdicts, "deepseek-chat", "no-cn")
    assert v.status == "insured" and v.lost == () and v.excluded[0].policy == "no-cn"


def test_evaluated_policies(build: Build, spec: Spec) -> None:
    cfg = build(
        {"eu": spec("scaleway")},
        keys={"policy": "eu-only"},
        policies={"definitions": {"mine": {"processing_in": ["FR"]}}},
    )
    everything = evaluated_policies(cfg)
    assert everything[:6] == [
        "on-prem-only",
        "eu-sovereign",
        "eu-only",
        "no-cn",
        "no-us-cloud-act",
        "public-data",
    ]
    assert everything[-1] == "mine"
    assert evaluated_policies(cfg, ["mine"]) == ["eu-only", "on-prem-only", "mine"]
    with pytest.raises(UnknownPolicy, match="'nope'"):
        evaluated_policies(cfg, ["nope"])


def test_example_config_loads_and_behaves() -> None:
    cfg = load_config(EXAMPLE)
    assert set(cfg.providers) == {"local", "eu-cloud", "us-cloud", "cn-cloud"}
    report = run_drill(cfg, ["US"], evaluated_policies(cfg))
    for v in report.verdicts:
        if v.policy == "eu-sovereign":
            assert not any(s.startswith(("us-cloud/", "cn-cloud/")) for s in v.serving)
    assert report.dark_protected == []
    cn = run_drill(cfg, ["CN"], ["public-data"])
    assert pick(cn.verdicts, "deepseek-chat", "public-data").status == "insured"


SEEN: list[tuple[str, str | None, str | None]] = []


class _Gateway(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        SEEN.append((body["model"], self.headers.get(DRILL_HEADER), self.headers.get("authorization")))
        if body["model"] == "gone":
            self._send(403, {"error": {"message": "policy denied", "type": "permission_error"}}, None)
            return
        message = {"role": "assistant", "content": "OK"}
        reply = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        }
        self._send(200, reply, "local")

    def _send(self, status: int, payload: dict[str, Any], provider: str | None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if provider:
            self.send_header("x-lockgate-provider", provider)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SEEN.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_live_check_sends_header_and_reads_provider(gateway: str) -> None:
    results = live_check(gateway, "sk-admin", ["chat", "gone"], ["CN", "US-CLOUD-Act"], timeout=10)
    assert [(r.alias, r.status, r.provider, r.ok) for r in results] == [
        ("chat", 200, "local", True),
        ("gone", 403, None, False),
    ]
    assert results[1].error == "policy denied"
    assert SEEN[0] == ("chat", "CN,US-CLOUD-Act", "Bearer sk-admin")


def test_live_check_unreachable() -> None:
    results = live_check("http://127.0.0.1:9", "k", ["chat"], ["US"], timeout=2)
    assert results[0].status is None and "cannot reach" in (results[0].error or "")
