"""A fleet tested as one: deploy/fleet on loopback, under steady load.

Three ``lockgate serve`` processes run the reference ``deploy/fleet/lockgate.yaml`` (only
``limits`` is replaced, to meter one key) on one fresh PostgreSQL database, behind nginx
rendered from ``deploy/fleet/nginx.conf.in``, with the scripted EU, US and CN stand-ins as
providers.  Clients loop through nginx and retry, as the OpenAI SDK does, an answer nginx gave
itself (a broken connection to an instance: no ``x-request-id``), and, as an agent would, a
stream that broke after its headers (the instance that began it died).  Meanwhile:

* a provider is cut through one instance's admin API: no instance routes to it later than
  ``auth.reload_interval`` (plus a margin) after the cut was acknowledged;
* a key is revoked through another instance: refused everywhere within the same bound;
* a metered key (requests per minute) is held to its limit within 10 % across the fleet;
* the third instance is SIGKILLed: only requests in flight at that moment fail (and succeed
  when the client retries), every answer a client received whole is in the audit chain, once,
  and ``lockgate audit verify`` passes with the head signed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from tests.deploy.fleet_files import FLEET, nginx_argv, nginx_binary, render_nginx
from tests.e2e.conftest import ThreadedStandIns, free_port
from tests.e2e.conftest_records import PG_SKIP, audit_rows, make_key
from tests.e2e.test_audit_process import gone, writer_pids

from lockgate.audit.signing import load_or_create_key
from lockgate.audit.testing import pg_test_url, throwaway_database

pytestmark = [pytest.mark.fleet, pytest.mark.postgres]

REFERENCE = yaml.safe_load((FLEET / "lockgate.yaml").read_text())
RELOAD = float(REFERENCE["auth"]["reload_interval"])  # keys; cuts are reloaded every second
CUT_RELOAD = 1.0
BOUND = max(RELOAD, CUT_RELOAD) + 0.5  # the margin: a store read under load, scheduling
LIMIT = 100  # requests per minute of the metered key
METERED_CALLS = 140
ADMIN = "lg-fleet-admin-" + os.urandom(8).hex()
NAMES = ("gw-1", "gw-2", "gw-3")
ID_PREFIX = len("req_") + 16  # a request id starts with its process's own 16 hex digits


# -- the fleet ------------------------------------------------------------------------------


@dataclass
class Instance:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def fleet_env(pg_url: str, tmp_path: Path, standins: ThreadedStandIns) -> dict[str, str]:
    """The environment deploy/fleet/lockgate.yaml reads, shared by every instance."""
    env = {"LOCKGATE_PG_URL": pg_url, "LOCKGATE_ADMIN_KEY": ADMIN,
           "LOCKGATE_SIGNING_KEY": str(tmp_path / "audit-signing.key")}  # fmt: skip
    for name, up in standins.ups.items():
        env[f"LOCKGATE_{name.upper()}_URL"] = up.url
        env[f"LOCKGATE_{name.upper()}_KEY"] = f"sk-{name}-upstream"
    return {**os.environ, **env}


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name}: exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {within}s:\n{log.read_text()}")


def start_instances(config: Path, env: dict[str, str], tmp_path: Path) -> list[Instance]:
    """Three instances started together, each with its own data_dir; ready when /readyz is 200."""
    made = []
    for name in NAMES:
        port, log = free_port(), tmp_path / f"{name}.log"
        own = {**env, "LOCKGATE_INSTANCE": name, "LOCKGATE_DATA_DIR": str(tmp_path / name)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockgate", "serve", "-c", str(config), "--port", str(port)],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=own,
        )  # fmt: skip
        made.append(Instance(name, port, proc, log))
    for inst in made:
        wait_ready(inst.base + "/readyz", inst.proc, inst.log)
    return made


def start_nginx(instances: list[Instance], tmp_path: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """nginx from the reference template: unprivileged, one worker, everything under its prefix."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian package 'nginx'; scripts/test.sh installs it)")
    port = free_port()
    conf = render_nginx(tmp_path / "nginx", port, [inst.port for inst in instances])
    log = conf.parent / "error.log"
    proc = subprocess.Popen(nginx_argv(binary, conf), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/healthz", proc, log, within=15)
    return base, proc


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# -- clients --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    status: int  # 0: the connection to nginx broke, or the body ended early
    request_id: str  # '' when nginx answered itself
    provider: str
    started: float
    ended: float
    whole: bool  # the client received the complete answer

    @property
    def broken(self) -> bool:
        """No answer from a gateway (nginx's own), or a 200 whose body ended early."""
        return not self.request_id or (self.status == 200 and not self.whole)


@dataclass
class Load:
    """``tasks`` clients of one key, each sending a request, then pausing ``pause`` seconds;
    ``calls`` bounds the number of requests (None: until ``stop``)."""

    base: str
    secret: str
    tasks: int
    pause: float
    calls: int | None = None
    requests: list[list[Attempt]] = field(default_factory=list)
    stop: bool = False

    def acked(self) -> list[Attempt]:
        return [a for tries in self.requests for a in tries if a.whole]

    async def run(self, http: aiohttp.ClientSession) -> None:
        await asyncio.gather(*(self._client(http, n) for n in range(self.tasks)))

    async def _client(self, http: aiohttp.ClientSession, n: int) -> None:
        i = n
        while not self.stop and (self.calls is None or len(self.requests) < self.calls):
            tries: list[Attempt] = []
            self.requests.append(tries)
            for _ in range(3):  # a retry only for what nginx answered itself or a broken stream
                tries.append(await self._once(http, i))
                if not tries[-1].broken:
                    break
                await asyncio.sleep(0.05)
            i += self.tasks
            await asyncio.sleep(self.pause)

    async def _once(self, http: aiohttp.ClientSession, i: int) -> Attempt:
        stream = i % 2 == 1
        body: dict[str, Any] = {"model": "chat", "messages": [{"role": "user", "content": f"fleet ping {i}"}]}
        if stream:
            body.update(stream=True, stream_options={"include_usage": True})
        headers = {"Authorization": f"Bearer {self.secret}"}
        started = time.monotonic()
        status, rid, provider, whole = 0, "", "", False
        try:
            async with http.post(self.base + "/v1/chat/completions", json=body, headers=headers) as r:
                status, rid = r.status, r.headers.get("x-request-id", "")
                provider = r.headers.get("x-lockgate-provider", "")
                raw = await r.read()
                whole = r.status == 200 and (
                    b"data: [DONE]" in raw if stream else "choices" in json.loads(raw)
                )
        except (aiohttp.ClientError, ValueError):
            whole = False
        return Attempt(status, rid, provider, started, time.monotonic(), whole)


async def admin(method: str, url: str, body: Any = None) -> tuple[int, Any, float]:
    """One admin call to one instance; returns (status, JSON, when the answer arrived)."""
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, url, json=body, headers={"Authorization": f"Bearer {ADMIN}"}) as r,
    ):
        return r.status, await r.json(), time.monotonic()


async def until(load: Load, count: int, within: float = 60.0) -> None:
    """Wait (bounded) until ``load`` has ``count`` more complete answers than now."""
    target = len(load.acked()) + count
    deadline = time.monotonic() + within
    while len(load.acked()) < target:
        assert time.monotonic() < deadline, f"only {len(load.acked())} of {target} answers after {within}s"
        await asyncio.sleep(0.05)


async def metered_run(load: Load, http: aiohttp.ClientSession) -> None:
    """The metered key's requests, all inside one wall-clock minute: the limiter's sliding
    estimate carries the previous minute over, which would blur the count."""
    into = time.time() % 60
    if into > 45:
        await asyncio.sleep(60.2 - into)
    await load.run(http)


# -- what the fleet must show ---------------------------------------------------------------


@dataclass
class Run:
    """What happened: the loads, when each event was acknowledged, the chain's rows by id."""

    main: Load
    doomed: Load
    metered: Load
    cut_at: float = 0.0
    revoked_at: float = 0.0
    kill_sent: float = 0.0
    dead_at: float = 0.0  # the killed process was reaped: its sockets are closed
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def instance(self, attempt: Attempt) -> str:
        """The instance that answered: from its record, else from the id's prefix, which is the
        process's own (a stream cut by the kill has no record)."""
        row = self.rows.get(attempt.request_id)
        if row is not None:
            return str(row["instance"])
        prefixes = {rid[:ID_PREFIX]: str(r["instance"]) for rid, r in self.rows.items()}
        return prefixes.get(attempt.request_id[:ID_PREFIX], "?")


def check_kill(run: Run) -> None:
    """Only requests in flight at the SIGKILL failed, and each succeeded when retried."""
    failed = [a for tries in run.main.requests for a in tries if not a.whole]
    print(f"\nkill: {len(run.main.requests)} requests, {len(failed)} attempts failed "
          f"(statuses {Counter(a.status for a in failed)})")  # fmt: skip
    for a in failed:
        if a.request_id:  # only a stream the killed instance had begun may break after its headers
            assert a.status == 200 and run.instance(a) == NAMES[2], (
                f"{run.instance(a)} itself answered {a.status} ({a.request_id})"
            )
        assert a.started < run.dead_at and a.ended > run.kill_sent, (
            f"an attempt from {a.started - run.kill_sent:+.3f}s to {a.ended - run.kill_sent:+.3f}s around "
            "the kill failed: only requests in flight at the kill may fail"
        )
    assert len(failed) <= run.main.tasks
    assert all(tries[-1].whole for tries in run.main.requests), "a request failed again when retried"
    after = {run.instance(a) for a in run.main.acked() if a.started > run.dead_at}
    assert after == {"gw-1", "gw-2"}, f"answers after the kill came from {after}"


def check_chain(run: Run, config: Path, env: dict[str, str]) -> None:
    """Every complete answer is in the chain exactly once, and the chain verifies, signed."""
    acked = [a.request_id for load in (run.main, run.doomed, run.metered) for a in load.acked()]
    missing = [rid for rid in acked if rid not in run.rows]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged requests are not in the chain"
    assert len(set(acked)) == len(acked)
    assert {r["instance"] for r in run.rows.values()} == set(NAMES)
    out = subprocess.run([sys.executable, "-m", "lockgate", "audit", "verify", "--json", "-c", str(config)],
                         capture_output=True, text=True, env={**env, "LOCKGATE_INSTANCE": "verify"},
                         timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    (chain,) = json.loads(out.stdout)["chains"]
    assert chain["last_signed_seq"] == chain["last_seq"], "the head was not signed at the end"
    print(f"chain: {len(acked)} acknowledged answers of {len(run.rows)} records, verified")


def lags(answers: list[Attempt], since: float, run: Run) -> dict[str, float]:
    """Per instance: how long after ``since`` its last one of ``answers`` arrived (0: none after)."""
    worst = dict.fromkeys(NAMES, 0.0)
    for a in answers:
        name = run.instance(a)
        worst[name] = max(worst[name], a.ended - since)
    return worst


def check_cut(run: Run) -> None:
    """Before the cut every instance routed to 'eu'; none did later than BOUND after it."""
    answers = run.main.acked()
    before = {run.instance(a) for a in answers if a.ended < run.cut_at and a.provider == "eu"}
    assert before == set(NAMES), f"before the cut only {before} routed to 'eu'"
    late = lags([a for a in answers if a.provider == "eu"], run.cut_at, run)
    print("cut: last answer from 'eu' after the cut, per instance: "
          + ", ".join(f"{n} {s:.3f}s" for n, s in late.items()) + f" (bound {BOUND:.2f}s)")  # fmt: skip
    assert max(late.values()) <= BOUND
    later = [a for a in answers if a.started > run.cut_at + BOUND]
    assert {a.provider for a in later} == {"us"}, "after the bound every answer comes from 'us'"
    assert {run.instance(a) for a in later if a.ended < run.kill_sent} == set(NAMES)


def check_revoke(run: Run) -> None:
    """The revoked key's last answer came within BOUND; after that, 401 from every instance."""
    answers = [a for tries in run.doomed.requests for a in tries if a.request_id]
    late = lags([a for a in answers if a.status == 200], run.revoked_at, run)
    print("revoke: last answer to the revoked key, per instance: "
          + ", ".join(f"{n} {s:.3f}s" for n, s in late.items()) + f" (bound {BOUND:.2f}s)")  # fmt: skip
    assert max(late.values()) <= BOUND
    after = [a for a in answers if a.started > run.revoked_at + BOUND]
    assert after and all(a.status == 401 for a in after)
    assert {run.instance(a) for a in after} == set(NAMES), "every instance refused the key"


def check_limit(run: Run) -> None:
    """One requests-per-minute limit across three instances: accepted within [LIMIT, 1.1 LIMIT]."""
    answers = [a for tries in run.metered.requests for a in tries if a.request_id]
    statuses = Counter(a.status for a in answers)
    accepted = Counter(run.instance(a) for a in answers if a.status == 200)
    print(f"limit: {LIMIT}/min, accepted {statuses[200]} ({dict(accepted)}), refused {statuses[429]}")
    assert set(statuses) == {200, 429}
    assert LIMIT <= statuses[200] <= LIMIT * 1.1
    assert set(accepted) == set(NAMES)
    refused = {run.instance(a) for a in answers if a.status == 429}
    assert refused == set(NAMES), f"only {refused} refused the metered key"


# -- the test -------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = pg_test_url()
    if base is None:
        pytest.skip(PG_SKIP)
    with throwaway_database(base) as url:
        yield url


def fleet_config(tmp_path: Path) -> Path:
    """The reference config; only ``limits`` is replaced, to meter one key and leave the rest free."""
    cfg = {**REFERENCE, "limits": {"sync_interval": REFERENCE["limits"]["sync_interval"],
                                   "keys": {"metered": {"requests_per_minute": LIMIT}}}}  # fmt: skip
    path = tmp_path / "lockgate.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


async def drive(run: Run, instances: list[Instance], doomed_id: str, http: aiohttp.ClientSession) -> None:
    """The scenario under load: cut, revoke (the metered key runs alongside), then the kill."""
    loads = [asyncio.create_task(run.main.run(http)), asyncio.create_task(run.doomed.run(http))]
    metered = asyncio.create_task(metered_run(run.metered, http))
    await until(run.main, 90)
    status, _, run.cut_at = await admin("POST", instances[0].base + "/admin/cuts", {"target": "eu"})
    assert status == 201
    await asyncio.sleep(BOUND + 1.0)
    status, _, run.revoked_at = await admin("DELETE", f"{instances[1].base}/admin/keys/{doomed_id}")
    assert status == 200
    await asyncio.sleep(BOUND + 1.0)
    run.doomed.stop = True
    await metered
    (writer,) = writer_pids(instances[2].proc.pid)
    await until(run.main, 30)
    run.kill_sent = time.monotonic()
    instances[2].proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(instances[2].proc.wait, 10)
    run.dead_at = time.monotonic()
    await until(run.main, 150)
    run.main.stop = True
    await asyncio.gather(*loads)
    await gone(writer)  # it reads its pipe to the end, commits, signs the head and exits


async def test_fleet_behind_nginx_on_one_postgresql(
    pg_url: str, tmp_path: Path, threaded_standins: ThreadedStandIns
) -> None:
    keys = {name: make_key(pg_url, name) for name in ("steady", "doomed", "metered")}
    load_or_create_key(tmp_path / "audit-signing.key")  # one key for the fleet: one pin verifies
    config, env = fleet_config(tmp_path), fleet_env(pg_url, tmp_path, threaded_standins)
    instances = start_instances(config, env, tmp_path)
    nginx = None
    try:
        base, nginx = start_nginx(instances, tmp_path)
        run = Run(main=Load(base, keys["steady"][1], tasks=4, pause=0.05),
                  doomed=Load(base, keys["doomed"][1], tasks=1, pause=0.04),
                  metered=Load(base, keys["metered"][1], tasks=1, pause=0.04, calls=METERED_CALLS))  # fmt: skip
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=16)) as http:
            await drive(run, instances, keys["doomed"][0], http)
    finally:
        codes = [stop(inst.proc) for inst in instances]
        if nginx is not None:
            stop(nginx)
    assert codes[:2] == [0, 0], [inst.log.read_text()[-2000:] for inst in instances[:2]]
    rows = audit_rows(pg_url)
    doubled = [rid for rid, n in Counter(str(r["request_id"]) for r in rows).items() if n > 1]
    assert not doubled, f"{len(doubled)} request ids appear twice in the chain"
    run.rows = {str(r["request_id"]): r for r in rows}
    check_kill(run)
    check_cut(run)
    check_revoke(run)
    check_limit(run)
    check_chain(run, config, env)
