"""``lockgate serve --workers N``: a supervisor process and N gateway workers on one port.

The supervisor serves no request.  It

1. reserves the address (a socket bound with ``SO_REUSEPORT`` that never listens: it resolves
   port 0 and fails early with a clear message if the port is taken) and migrates the store
   once, before any worker opens it;
2. starts the audit writer once, listening on a Unix socket in a per-run directory that the
   supervisor keeps open across writer restarts (``audit.fanin``), and restarts it if it dies;
3. starts the local engines once (the serving gate runs here) and passes their addresses to
   the workers, which only watch them (``engines.attached``);
4. starts the workers (``server.workerproc``), restarts one that dies, with backoff;
5. on SIGTERM or SIGINT stops the workers (each drains its in-flight requests for up to
   15 s and hands its last records over), then the writer (it commits and signs the head),
   then the engines, and removes the run directory.

Workers die with the supervisor (``PR_SET_PDEATHSIG``); the writer ends when the supervisor's
end of its settings pipe closes, after reading every worker's records to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from lockgate.audit.remote import worker_settings
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError
from lockgate.providers.llamacpp import LlamaCppProvider
from lockgate.server.assemble import serving_gate
from lockgate.server.gateway import Gateway
from lockgate.storage.db import open_store

log = logging.getLogger("lockgate.workers")
MAX_DEFAULT_WORKERS = 8
READY_TIMEOUT = 300.0  # seconds a worker may take to serve (imports, attaching to engines)
STOP_TIMEOUT = 25.0  # a worker's drain (15 s) plus its last records; then SIGKILL
RESTART_BACKOFF = (0.5, 10.0)
WRITER_STOP_TIMEOUT = 90.0


def default_workers() -> int:
    """One worker per core this process may run on, at most ``MAX_DEFAULT_WORKERS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


# loaded here, not in the child: between fork and exec the child only makes the system call
_LIBC = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def reserve(host: str, port: int) -> socket.socket:
    """Bind (not listen) with SO_REUSEPORT: the port is ours, and workers can bind it too."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(addr)
    except OSError as exc:
        raise ConfigError(
            f"server.port: cannot bind {host}:{port} for the workers: {exc.strerror or exc}"
        ) from None
    return sock


class AuditWriter:
    """The one audit writer process, restarted when it dies."""

    def __init__(self, cfg: GatewayConfig, run_dir: Path, workers: int) -> None:
        self.path = run_dir / "audit.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(128)
        settings = worker_settings(cfg)
        settings["sink"]["queue_max"] = cfg.audit.queue_max * workers  # each worker keeps up to queue_max
        self.settings = {**settings, "listen_fd": self.listener.fileno()}
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name="audit-writer")

    async def _spawn(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lockgate.audit.worker", stdin=asyncio.subprocess.PIPE,
            pass_fds=(self.listener.fileno(),), start_new_session=True,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(orjson.dumps(self.settings) + b"\n")  # secrets over the pipe, never argv
        await proc.stdin.drain()
        self.proc = proc

    async def _supervise(self) -> None:
        pause = RESTART_BACKOFF[0]
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            log.error("audit: the writer process died (exit %s); restarting it (workers re-send what it "
                      "had not committed)", code)  # fmt: skip
            self.restarts += 1
            try:
                await self._spawn()
                pause = RESTART_BACKOFF[0]
            except OSError as exc:
                log.error("audit: could not start a writer process (%s); retrying in %.1fs", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RESTART_BACKOFF[1])

    async def stop(self) -> None:
        """Close its settings pipe: it reads every connection to the end, commits and exits."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        proc = self.proc
        if proc is not None and proc.returncode is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), WRITER_STOP_TIMEOUT)
            except TimeoutError:
                log.error("audit: the writer did not finish within %.0fs; it keeps flushing on its own",
                          WRITER_STOP_TIMEOUT)  # fmt: skip
        self.listener.close()


class Worker:
    """One gateway worker process, restarted when it dies unexpectedly."""

    def __init__(self, index: int, spec: dict[str, Any]) -> None:
        self.index = index
        self.spec = {**spec, "index": index}
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.stopping = False
        self.ready = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def spawn(self) -> None:
        self.ready.clear()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lockgate.server.workerproc", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, preexec_fn=_die_with_parent,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(orjson.dumps(self.spec) + b"\n")
        await proc.stdin.drain()
        proc.stdin.close()
        self.proc = proc
        self._reader = asyncio.create_task(self._read(proc, proc.stdout), name=f"worker-{self.index}-stdout")

    async def _read(self, proc: asyncio.subprocess.Process, out: asyncio.StreamReader) -> None:
        async for line in out:
            if line.strip() == b"ready" and proc is self.proc:
                self.ready.set()

    async def wait_ready(self, within: float) -> bool:
        """True once it serves; False if it exited (or took too long) first."""
        assert self.proc is not None
        ready = asyncio.create_task(self.ready.wait())
        exited = asyncio.create_task(self.proc.wait())
        await asyncio.wait({ready, exited}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        for task in (ready, exited):
            task.cancel()
        return self.ready.is_set()

    async def supervise(self) -> None:
        pause = RESTART_BACKOFF[0]
        while not self.stopping:
            assert self.proc is not None
            started = time.monotonic()
            code = await self.proc.wait()
            if self.stopping:
                return
            if time.monotonic() - started > 30:
                pause = RESTART_BACKOFF[0]
            log.error("worker %d (pid %d) exited with %s; restarting it in %.1fs",
                      self.index, self.proc.pid, code, pause)  # fmt: skip
            await asyncio.sleep(pause)
            pause = min(pause * 2, RESTART_BACKOFF[1])
            if self.stopping:
                return
            self.restarts += 1
            await self.spawn()
            if await self.wait_ready(READY_TIMEOUT):
                log.info("worker %d restarted (pid %d)", self.index, self.proc.pid)

    async def stop(self) -> None:
        self.stopping = True
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            log.error("worker %d did not stop within %.0fs; killing it", self.index, STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


class Supervisor:
    def __init__(
        self, cfg: GatewayConfig, config_path: Path | None, host: str, port: int, count: int
    ) -> None:
        self.cfg, self.config_path, self.host, self.port, self.count = cfg, config_path, host, port, count
        self.workers: list[Worker] = []
        self.writer: AuditWriter | None = None
        self.engines: list[LlamaCppProvider] = []

    async def run(self, announce: Callable[[int, str], None]) -> int:
        """Serve until SIGTERM or SIGINT; returns the exit status."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        reserved = reserve(self.host, self.port)
        port = int(reserved.getsockname()[1])
        run_dir = Path(tempfile.mkdtemp(prefix="lockgate-run-"))
        store = None
        try:
            store = await asyncio.to_thread(open_store, self.cfg.storage_url())  # migrate once
            gateway = Gateway(self.cfg, store, self.host, port)
            gateway.check_binding()
            spec = await self._start_shared(gateway, run_dir, port)
            self.workers = [Worker(i, spec) for i in range(self.count)]
            for worker in self.workers:
                await worker.spawn()
            if not await self._all_ready(stop):
                if stop.is_set():
                    return 0
                log.error(
                    "a worker exited or did not serve within %.0fs during start-up; stopping", READY_TIMEOUT
                )
                return 1
            announce(port, ", ".join(gateway.router.routes) or "none")
            watches = [asyncio.create_task(w.supervise(), name=f"worker-{w.index}") for w in self.workers]
            await stop.wait()
            for task in watches:
                task.cancel()
            return 0
        finally:
            await self._shutdown()
            if store is not None:
                store.dispose()
            reserved.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    async def _start_shared(self, gateway: Gateway, run_dir: Path, port: int) -> dict[str, Any]:
        """The audit writer and the local engines, once for all workers; the workers' spec."""
        a = self.cfg.audit
        if a.enabled and a.writer == "process":
            self.writer = AuditWriter(self.cfg, run_dir, self.count)
            await self.writer.start()
        self.engines = [p for p in gateway.providers.values() if isinstance(p, LlamaCppProvider)]
        if self.cfg.registry.enforce:
            for provider in self.engines:
                provider.gate = serving_gate(self.cfg)
        await asyncio.gather(*(p.start() for p in self.engines))
        return {
            "config": str(self.config_path) if self.config_path else None,
            "host": self.host,
            "port": port,
            "run_dir": str(run_dir),
            "audit_socket": str(self.writer.path) if self.writer else None,
            "engines": {p.name: [r.base_url for r in p.replicas] for p in self.engines},
        }

    async def _all_ready(self, stop: asyncio.Event) -> bool:
        async def every() -> bool:
            return all(await asyncio.gather(*(w.wait_ready(READY_TIMEOUT) for w in self.workers)))

        async def stopped() -> bool:
            await stop.wait()
            return False

        waits = [asyncio.create_task(every()), asyncio.create_task(stopped())]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return not stop.is_set() and all(t.result() for t in done)

    async def _shutdown(self) -> None:
        for worker in self.workers:
            worker.stopping = True
        await asyncio.gather(*(w.stop() for w in self.workers))
        if self.writer is not None:
            await self.writer.stop()
        await asyncio.gather(*(p.close() for p in self.engines), return_exceptions=True)
