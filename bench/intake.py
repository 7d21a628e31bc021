"""Benchmark: SMTP intake throughput against a do-nothing aiosmtpd server, in the same run.

(a) baseline: plain aiosmtpd with a handler that only answers `250 OK`;
(b) abusedesk's listener storing every report durably (SQLite, group commit,
    `250` only after the commit), no worker;
(c) end to end: `abusedesk serve` with listener and worker(s) (the configured
    default, or `--workers N`), timed until the last report is parsed,
    attributed, recorded and decided.

Each server runs in a process of its own; the same client, in this process (8
concurrent connections, real corpus reports made distinct by a line in their
epilogue), drives all three. One run measures (a), (b), (c) and (a) again,
back to back, and takes the mean of its two (a)s, so that a machine getting
busier or quieter during the run does not tilt its ratios; `--runs` repeats
that and the table shows the median and the spread, since a shared machine
makes single figures noisy. Server CPU is that of the server's processes
(workers included), per report.

Targets: (b)/(a) >= 0.7 and (c)/(a) >= 0.5, on the median of the runs.
Exit status: 0 when both targets are met, 1 when one is missed, 2 when the
benchmark could not measure (a server did not start, reports were refused).

    python bench/intake.py [--reports 3000] [--clients 8] [--runs 5] [--workers N]

Soak mode, `--duration SECONDS` (e.g. 600): runs only (c), continuously for that
long with fresh distinct reports, and prints the memory (VmRSS of the server
and its workers, summed) after a warm-up of the first 10% of the time and at
the end, and the growth per 100,000 reports processed; target under 5% (exit
1 when missed). Memory is measured, not disk: the SQLite file grows as in
production. Details in bench/_soak.py.

    python bench/intake.py --duration 600 [--clients 8] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = Path(str(files("abusedesk").joinpath("demo")))  # the demo's config and accounts
CORPUS = REPO.parent / "shared" / "corpus" / "arf"
RECIPIENT = "fbl@abusedesk.example"
TARGET_STORED = 0.7
TARGET_END_TO_END = 0.5
PROCESSING_TIMEOUT = 600.0


class MeasurementFailed(Exception):
    """The benchmark could not measure what it set out to (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Figure:
    seconds: float
    server_cpu: float
    """CPU seconds of the server's processes while measured."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_baseline(port: int) -> None:
    """The do-nothing server: aiosmtpd, a handler that accepts everything."""
    from aiosmtpd.smtp import SMTP

    class AcceptAll:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    class LongLines(SMTP):  # the same line limit as abusedesk's listener, or reports bounce
        line_length_limit = 1 << 20

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: LongLines(AcceptAll()), "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


def corpus_messages(count: int) -> list[bytes]:
    files = sorted(CORPUS.glob("*.eml"))
    if not files:
        raise MeasurementFailed(f"no corpus reports in {CORPUS}")
    bodies = [re.sub(rb"\r\n|\n|\r", b"\r\n", path.read_bytes()).rstrip(b"\r\n") for path in files]
    return [bodies[i % len(bodies)] + b"\r\n\r\nbench copy %d\r\n" % i for i in range(count)]


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MeasurementFailed(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise MeasurementFailed("server did not start")


def drive(port: int, messages: list[bytes], clients: int) -> float:
    """Send all messages over `clients` connections; seconds from first to last 250."""
    failures: list[str] = []

    def client(share: list[bytes]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                smtp.ehlo("bench.example")
                for message in share:
                    smtp.mail("fbl@provider.example")
                    smtp.rcpt(RECIPIENT)
                    code, reply = smtp.data(message)
                    if code != 250:
                        failures.append(f"{code} {reply!r}")
        except (OSError, smtplib.SMTPException) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=client, args=(messages[i::clients],)) for i in range(clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise MeasurementFailed(f"{len(failures)} reports not accepted, e.g. {failures[0]}")
    return elapsed


def tree_pids(pid: int) -> list[int]:
    """`pid` and its live descendants (the worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by `pid` and its live descendants (the worker processes)."""
    total = 0.0
    for member in tree_pids(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextmanager
def running(command: list[str], env: dict[str, str], port: int) -> Iterator[int]:
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        yield server.pid
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def measure(pid: int, work: Callable[[], float]) -> Figure:
    cpu_before = process_tree_cpu(pid)
    seconds = work()
    return Figure(seconds, process_tree_cpu(pid) - cpu_before)


def run_baseline(messages: list[bytes], warm_up: bytes, clients: int) -> Figure:
    port = free_port()
    command = [sys.executable, __file__, "--serve-baseline", str(port)]
    with running(command, dict(os.environ), port) as pid:
        drive(port, [warm_up], 1)
        return measure(pid, lambda: drive(port, messages, clients))


def abusedesk_env(data_dir: Path, port: int, workers: int | None) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")},
        "ABUSEDESK_DATA_DIR": str(data_dir),
        "ABUSEDESK_SMTP__PORT": str(port),
        "ABUSEDESK_LOG_LEVEL": "WARNING",
        # Every client here is one peer (127.0.0.1); the per-peer limit is not measured.
        "ABUSEDESK_SMTP__MAX_MESSAGES_PER_PEER_PER_MINUTE": "10000000",
    }
    if workers is not None:
        env["ABUSEDESK_WORKER__PROCESSES"] = str(workers)
    return env


def processed_count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "abusedesk.sqlite3") as db:
        return int(
            db.execute("SELECT count(*) FROM rawreport WHERE status != 'pending'").fetchone()[0]
        )


def run_abusedesk(
    messages: list[bytes],
    warm_up: bytes,
    clients: int,
    *,
    with_worker: bool,
    workers: int | None,
) -> Figure:
    """(b) without a worker: until the last 250; (c) with: until the last report is processed."""
    config = str(DEMO / "abusedesk.toml")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        env = abusedesk_env(data_dir, port, workers)
        cli = [sys.executable, "-m", "abusedesk", "--config", config]
        imported = subprocess.run(
            [*cli, "accounts", "import", str(DEMO / "accounts.csv")],
            env=env,
            capture_output=True,
        )
        if imported.returncode != 0:
            raise MeasurementFailed(f"accounts import failed: {imported.stderr.decode()}")
        roles = ["--no-web"] + ([] if with_worker else ["--no-worker"])

        def until_processed(count: int) -> None:
            deadline = time.perf_counter() + PROCESSING_TIMEOUT
            while processed_count(data_dir) < count:
                if time.perf_counter() > deadline:
                    raise MeasurementFailed("reports were not all processed in time")
                time.sleep(0.02)

        def end_to_end() -> float:
            start = time.perf_counter()
            drive(port, messages, clients)
            until_processed(len(messages) + 1)
            return time.perf_counter() - start

        with running([*cli, "serve", *roles], env, port) as pid:
            # The worker processes start after the listener: steady state is measured.
            drive(port, [warm_up], 1)
            if with_worker:
                until_processed(1)
            work = end_to_end if with_worker else (lambda: drive(port, messages, clients))
            return measure(pid, work)


def spread(values: list[float], fmt: str) -> str:
    median = statistics.median(values)
    return f"{median:{fmt}}  ({min(values):{fmt}} - {max(values):{fmt}})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--workers", type=int, help="worker processes for (c) (default: the product's)"
    )
    parser.add_argument(
        "--duration", type=float, help="soak mode: run (c) this many seconds, report memory growth"
    )
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return 0
    if args.duration is not None:
        from _soak import soak  # bench/ is on the path: this file runs as a script

        return soak(args.duration, args.clients, args.workers)
    try:
        messages = corpus_messages(args.reports + 1)
        warm_up = messages.pop()  # sent to each server before it is measured
        n = len(messages)
        runs: list[tuple[Figure, Figure, Figure]] = []
        print(f"{n} corpus reports over {args.clients} connections, {args.runs} run(s)")
        print("run   (a) 250 only   (b) stored   (c) end to end    b/a    c/a   reports/s")
        for index in range(args.runs):
            before = run_baseline(messages, warm_up, args.clients)
            b = run_abusedesk(
                messages, warm_up, args.clients, with_worker=False, workers=args.workers
            )
            c = run_abusedesk(
                messages, warm_up, args.clients, with_worker=True, workers=args.workers
            )
            after = run_baseline(messages, warm_up, args.clients)
            a = Figure(
                2 / (1 / before.seconds + 1 / after.seconds),  # the mean of the two rates
                (before.server_cpu + after.server_cpu) / 2,
            )
            runs.append((a, b, c))
            ra, rb, rc = (n / f.seconds for f in (a, b, c))
            print(
                f"{index + 1:3d}   {ra:12.0f}   {rb:10.0f}   {rc:14.0f}   "
                f"{rb / ra:4.2f}   {rc / ra:4.2f}",
                flush=True,
            )
    except MeasurementFailed as exc:
        print(f"intake benchmark: could not measure: {exc}", file=sys.stderr)
        return 2

    def rates(column: int) -> list[float]:
        return [n / run[column].seconds for run in runs]

    def cpu_ms(column: int) -> list[float]:
        return [run[column].server_cpu / n * 1000 for run in runs]

    stored_ratio = [b / a for a, b in zip(rates(0), rates(1), strict=True)]
    e2e_ratio = [c / a for a, c in zip(rates(0), rates(2), strict=True)]
    print()
    print("                                 reports/s, median (min - max)   server CPU ms/report")
    names = [
        "(a) aiosmtpd, handler answers 250",
        "(b) abusedesk, durable storage ",
        "(c) end to end, listener+worker ",
    ]
    for column, name in enumerate(names):
        print(f"{name:34s} {spread(rates(column), '7.0f'):28s}  {spread(cpu_ms(column), '5.2f')}")
    print(f"ratio b/a: {spread(stored_ratio, '4.2f')}  target >= {TARGET_STORED}")
    print(f"ratio c/a: {spread(e2e_ratio, '4.2f')}  target >= {TARGET_END_TO_END}")
    met = (
        statistics.median(stored_ratio) >= TARGET_STORED
        and statistics.median(e2e_ratio) >= TARGET_END_TO_END
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
