"""The running gateway: everything built once from the config at start-up, and its lifecycle.

Nothing here is re-read per request.  Background tasks refresh keys and kill-switch cuts
from the store; sinks take finished records off the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine

from lockgate.auth.guard import Authenticator
from lockgate.auth.keys import Principal, load_principals
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError
from lockgate.metrics import METRICS
from lockgate.pii.detector import PiiScanner
from lockgate.providers.base import Provider
from lockgate.providers.registry import build_provider
from lockgate.records import RecordSink, RequestRecord
from lockgate.routing.deployment import Deployment
from lockgate.routing.router import Router, build_router
from lockgate.server.decision import Decider
from lockgate.server.refresh import refresh_forever
from lockgate.sovereignty.cuts import CutSet, load_cuts
from lockgate.sovereignty.facts import ResolvedFacts, resolve_facts
from lockgate.sovereignty.policy import PolicyEngine
from lockgate.stored.responses import ResponseStore
from lockgate.tracing import NOOP_TRACER, Tracer
from lockgate.usage.pricing import Pricer

log = logging.getLogger("lockgate")

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Gateway:
    def __init__(self, cfg: GatewayConfig, store: Engine | None, host: str, port: int) -> None:
        self.cfg = cfg
        self.store = store
        self.host = host
        self.instance = cfg.server.instance_id or f"{host}:{port}"
        self.facts: dict[str, ResolvedFacts] = {
            name: resolve_facts(name, p, cfg.operator.domicile) for name, p in cfg.providers.items()
        }
        self.providers: dict[str, Provider] = {
            name: build_provider(name, p, cfg) for name, p in cfg.providers.items()
        }
        self.router: Router = build_router(cfg, self.providers, self.facts)
        METRICS.known_aliases = frozenset(self.router.routes)
        METRICS.deployments = self.router.deployments()
        self.cuts = CutSet()
        self.policy = PolicyEngine(cfg, self.cuts)
        named = (cfg.keys.policy, cfg.policies.default, cfg.keys.pii_policy, cfg.policies.pii_default)
        for name in filter(None, (*named, *cfg.policies.teams.values())):
            try:
                self.policy.check_names([name])
            except Exception:
                raise ConfigError(
                    f"policies: the policy {name!r} named as a default is not defined"
                ) from None
        self.scanner = PiiScanner(cfg.pii) if cfg.pii.enabled else None
        self.decider = Decider(cfg, self.policy, self.scanner)
        admin = cfg.auth.admin_key.get_secret_value() if cfg.auth.admin_key else None
        self.auth = Authenticator(cfg.auth.mode, admin)
        self.guards: list[Callable[[Principal], None]] = []
        self.sinks: list[RecordSink] = []
        # the audit writer process's handover barrier (None: no sink survives a gateway crash)
        self.handover: Callable[[], Awaitable[None] | None] | None = None
        # kept Responses API replies (store / previous_response_id); None says why not
        self.responses: ResponseStore | None = None
        self.responses_off = "no store is configured"
        self.pricer = Pricer()
        self.tracer: Tracer = NOOP_TRACER  # server.assemble installs the configured one
        self._tasks: list[asyncio.Task[None]] = []
        self._secrets = {name: p.secrets() for name, p in self.providers.items()}

    # -- request-path helpers ------------------------------------------------------------
    def record(self, rec: RequestRecord) -> None:
        METRICS.observe(rec)
        for sink in self.sinks:
            sink.submit(rec)

    def acknowledge(self, rec: RequestRecord) -> Awaitable[None] | None:
        """Hand a finished record to every sink, before the answer's last bytes go out
        (``server.ack``).  Returns something to await only when the audit writer process does
        not hold the record yet (its pipe is full, or it is being restarted)."""
        self.record(rec)
        return self.handover() if self.handover is not None else None

    def price(self, dep: Deployment, rec: RequestRecord) -> None:
        """Fill the record's cost: a token price table, or hardware price × measured throughput."""
        rec.finished_at = time.time()
        self.pricer.apply(rec, dep.price)

    def scrub(self, dep: Deployment, data: bytes) -> bytes:
        for secret in self._secrets.get(dep.provider_name, ()):
            data = data.replace(secret.encode(), b"[redacted]")
        return data

    # -- lifecycle ----------------------------------------------------------------------
    def check_binding(self) -> None:
        keyless = self.cfg.auth.mode == "none" or (
            self.cfg.auth.mode == "auto" and self.cfg.auth.admin_key is None and not self._has_keys()
        )
        if keyless and self.host not in LOOPBACK:
            raise ConfigError(
                f"server.host: refusing to listen on {self.host} without API keys; create one with "
                "'lockgate keys create NAME' or bind to 127.0.0.1"
            )
        if self.cfg.auth.mode == "keys" and self.cfg.auth.admin_key is None and not self._has_keys():
            log.warning(
                "auth.mode is 'keys' but no key exists yet: every request will get 401 until "
                "'lockgate keys create NAME' runs"
            )

    def _has_keys(self) -> bool:
        return self.store is not None and bool(load_principals(self.store))

    async def start(self) -> None:
        if self.store is not None:
            self.auth.replace(await asyncio.to_thread(load_principals, self.store))
            self.cuts.replace(await asyncio.to_thread(load_cuts, self.store))
            store = self.store
            keys = refresh_forever(
                "key", lambda: load_principals(store), lambda: self.auth.generation, self.auth.replace,
                self.cfg.auth.reload_interval,
            )  # fmt: skip
            cuts = refresh_forever(
                "cut", lambda: load_cuts(store), lambda: self.cuts.version, self.cuts.replace, 1.0
            )
            self._tasks += [asyncio.create_task(keys), asyncio.create_task(cuts)]
        else:
            self.auth.replace({})
        if self.auth.keyless:
            log.warning(
                "!!! KEYLESS MODE: no API key is required. Only loopback clients can reach this "
                "gateway (%s). Create a key with 'lockgate keys create NAME' to require keys.",
                self.host,
            )
        for sink in self.sinks:
            await sink.start()
        if self.responses is not None:
            await self.responses.start()
        try:
            await asyncio.gather(*(p.start() for p in self.providers.values()))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        await asyncio.gather(*(p.close() for p in self.providers.values()), return_exceptions=True)
        if self.responses is not None:
            await self.responses.close()
        for sink in self.sinks:
            try:
                await sink.close()
            except Exception as exc:
                log.error("sink %s failed to close cleanly: %s", type(sink).__name__, exc)
        await self.tracer.close()  # flush the spans still queued for the collector

    def describe(self) -> dict[str, Any]:
        return {name: p.describe() for name, p in self.providers.items()}
