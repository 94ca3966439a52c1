"""lockgate's benchmark: direct nginx, a bare aiohttp proxy, lockgate (feature by feature) and LiteLLM.

Run it with ``bash bench/run.sh [--smoke] [--no-litellm] [--no-engine] [--profile]`` from the
repository root; docs/benchmarks.md explains what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from lockbench.engine import run_engine  # noqa: E402
from lockbench.install import ensure_litellm, ensure_pyspy, ensure_system_tools  # noqa: E402
from lockbench.launch import start_aiohttp, start_litellm, start_lockgate  # noqa: E402
from lockbench.loadgen import wrk_binary  # noqa: E402
from lockbench.machine import describe_machine, versions  # noqa: E402
from lockbench.paired import Paired, measure_paired  # noqa: E402
from lockbench.peers import (  # noqa: E402
    ADAPTER_PROTOCOLS,
    ALL_PROMPTS,
    FEATURE_LINES,
    FULL_LINE,
    HEADLINE,
    TARGET_LINE,
    Endpoint,
    upstream_routes,
)
from lockbench.procs import BenchError, Service  # noqa: E402
from lockbench.profile import Profiler  # noqa: E402
from lockbench.report import Report, print_report, write_json  # noqa: E402
from lockbench.suite import PRESETS, C32Hook, Line, Settings, Subject, measure  # noqa: E402
from lockbench.targets import lockgate_label, protocol_label  # noqa: E402
from lockbench.upstream import SSE_PATH, UPSTREAM_MODEL, nginx_binary, start_nginx  # noqa: E402

Starter = Callable[[], tuple[Service, Endpoint]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="a few hundred requests per line (< 90 s)")
    parser.add_argument("--no-litellm", action="store_true", help="skip installing and measuring LiteLLM")
    parser.add_argument("--no-engine", action="store_true", help="skip the llama.cpp engine path")
    parser.add_argument("--profile", action="store_true", help=f"py-spy lockgate[{TARGET_LINE}] at c=32")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "latest.json", help="JSON output")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".work", help="scratch and cached venvs")
    return parser.parse_args(argv)


@contextlib.contextmanager
def running(starter: Starter) -> Iterator[tuple[Service, Endpoint]]:
    service, endpoint = starter()
    try:
        yield service, endpoint
    finally:
        service.stop()


class Bench:
    """Starts each peer in turn and collects its measured lines."""

    def __init__(self, settings: Settings, run_dir: Path, hook: C32Hook | None):
        self.settings, self.run_dir, self.hook = settings, run_dir, hook
        self.key = "sk-bench-" + secrets.token_hex(8)
        self.lines: list[Line] = []
        self.paired = Paired("aiohttp", lockgate_label(FULL_LINE), "2kb")

    def _measure(self, subject: Subject) -> None:
        print(f"measuring {subject.label} …", flush=True)
        self.lines += measure(subject, self.settings, self.run_dir / "wrk", self.hook)

    def _nginx(self) -> tuple[Service, Endpoint]:
        service = start_nginx(self.run_dir, self.settings.sse_chunks)
        return service, Endpoint("direct", f"http://127.0.0.1:{service.port}", self.key, sse_path=SSE_PATH)

    def _peer(self, peer: str, starter: Starter, prompts: tuple[str, ...] = ("short",)) -> None:
        with running(starter) as (service, endpoint):
            self._measure(Subject(peer, peer, "auth", service, endpoint, prompts))

    def peers(self, litellm: Path | None) -> None:
        with running(self._nginx) as (nginx, direct):
            self._measure(Subject("direct", "direct", "-", nginx, direct))
            base = direct.base_url
            # the pass-through also gets the 2 KB prompt: the line with every feature on uses it
            self._peer("aiohttp", lambda: start_aiohttp(self.run_dir, base, self.key), ALL_PROMPTS)
            routes = upstream_routes(base, UPSTREAM_MODEL)
            self.lockgate_lines(routes)
            full = next(f for f in FEATURE_LINES if f.name == FULL_LINE)
            print(
                f"measuring {self.paired.subject} against {self.paired.peer} in alternating rounds …",
                flush=True,
            )
            measure_paired(
                self.paired,
                lambda: start_aiohttp(self.run_dir, base, self.key),
                lambda: start_lockgate(full.name, full, self.run_dir, routes, self.key),
                self.settings.paired_rounds,
                self.settings.seconds_c32,
                self.run_dir / "wrk",
            )
            if litellm is not None:
                self._peer("litellm", lambda: start_litellm(litellm, self.run_dir, routes, self.key))

    def lockgate_lines(self, routes: dict[str, tuple[str, str]]) -> None:
        for features in FEATURE_LINES:
            soak = self.settings.soak_requests if features.name == HEADLINE else 0

            def starter() -> tuple[Service, Endpoint]:
                return start_lockgate(features.name, features, self.run_dir, routes, self.key)  # noqa: B023

            with running(starter) as (service, endpoint):
                label = lockgate_label(features.name)
                prompts = features.prompts
                # several workers: the memory columns would show only the supervisor, so none
                self._measure(
                    Subject("lockgate", label, features.name, service, endpoint, prompts, True, soak, True,
                            memory=features.workers == 1)
                )  # fmt: skip
                if features.name != HEADLINE:
                    continue
                # the agent protocols on the same process: their adapters' cost per request
                for protocol in ADAPTER_PROTOCOLS:
                    made = dataclasses.replace(endpoint, protocol=protocol)
                    self._measure(Subject("lockgate", protocol_label(protocol), features.name, service, made,
                                          ("short",), False, 0, True, memory=False))  # fmt: skip


def run(args: argparse.Namespace) -> Report:
    started = time.monotonic()
    mode = "smoke" if args.smoke else "full"
    work = args.work.resolve()
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    ensure_system_tools()
    litellm = None if args.no_litellm else ensure_litellm(work)
    profiler = (
        Profiler(ensure_pyspy(work), args.out.parent, lockgate_label(TARGET_LINE)) if args.profile else None
    )
    bench = Bench(PRESETS[mode], run_dir, profiler)
    bench.peers(litellm)
    engine = None
    if not args.no_engine:
        print("measuring the engine path …", flush=True)
        engine = run_engine(run_dir, bench.settings, bench.key)
    return Report(
        mode=mode,
        settings=bench.settings,
        machine=describe_machine(),
        versions=versions(nginx_binary(), wrk_binary(), litellm),
        lines=bench.lines,
        engine=engine,
        paired=bench.paired,
        elapsed_s=time.monotonic() - started,
        artefacts=[str(p) for p in (profiler.written if profiler else [])],
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    write_json(report, args.out)
    print_report(report)
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
