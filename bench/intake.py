"""Benchmark: SMTP intake throughput against a do-nothing aiosmtpd server, in the same run.

(a) baseline: plain aiosmtpd with a handler that only answers `250 OK`;
(b) abusedesk's listener storing every report durably (SQLite, group commit,
    `250` only after the commit), no worker;
(c) end to end: `abusedesk serve` with listener and worker(s) (the configured
    default, or `--workers N`), timed until the last report is parsed,
    attributed, recorded as a complaint and decided (suspensions, notices and
    follow-up decisions included); (c) accept is the rate of 250s the same
    `serve` gave while its worker was busy with them.

The workload is the one users run (bench/_decided_reports.py): reports from a
trusted peer, each attributable to a mailbox of an imported directory, a sixth
of the mailboxes crossing the shipped limit. The run checks that it was: every
report became a complaint charged to a mailbox, and the suspensions and
notices are those the workload implies; it prints them beside the figures.
Each server runs in a process of its own; the same client, in this process (8
concurrent connections), drives all three. One run measures (a), (b), (c) and
(a) again, back to back, and takes the mean of its two (a)s, so that a machine
getting busier or quieter during the run does not tilt its ratios; `--runs`
repeats that and the table shows the median and the spread, since a shared
machine makes single figures noisy. Server CPU is that of the server's
processes (workers included), per report.

Targets: (b)/(a) >= 0.7, (c)/(a) >= 0.4 and (c) accept/(a) >= 0.7, on the medians.
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
import shutil
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

from _decided_reports import Workload, workload  # bench/ is on the path: run as a script

REPO = Path(__file__).resolve().parents[1]
DEMO = Path(str(files("abusedesk").joinpath("demo")))  # the demo's config and accounts
RECIPIENT = "fbl@abusedesk.example"
TARGET_STORED = 0.7
TARGET_END_TO_END = 0.4
TARGET_ACCEPT_WHILE_BUSY = 0.7
PROCESSING_TIMEOUT = 600.0


class MeasurementFailed(Exception):
    """The benchmark could not measure what it set out to (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Figure:
    seconds: float
    server_cpu: float
    """CPU seconds of the server's processes while measured."""
    accept_seconds: float = 0.0
    """(c): from the first report sent to the last 250, while the worker was busy."""
    outcome: str = ""
    """(c): what the reports became (complaints, decisions, suspensions, notices)."""


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
    """The server's pid while it runs; its log (the notices' smarthost is not running, so
    each queued notice logs a retry) is shown only when the measurement fails."""
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_port(port, server)
            yield server.pid
        except MeasurementFailed:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
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
    """Reports processed: the worker records a complaint and decides it in one transaction."""
    with sqlite3.connect(data_dir / "abusedesk.sqlite3") as db:
        return int(
            db.execute("SELECT count(*) FROM rawreport WHERE status != 'pending'").fetchone()[0]
        )


def outcome(data_dir: Path) -> dict[str, int]:
    """What the stored reports became."""
    queries = {
        "reports": "SELECT count(*) FROM rawreport",
        "complaints charged": "SELECT count(*) FROM complaint WHERE mailbox_id IS NOT NULL",
        "decisions": "SELECT count(*) FROM decision",
        "suspensions": "SELECT count(*) FROM suspension",
        "notices": "SELECT count(*) FROM notice",
    }
    with sqlite3.connect(data_dir / "abusedesk.sqlite3") as db:
        return {name: int(db.execute(sql).fetchone()[0]) for name, sql in queries.items()}


def run_abusedesk(
    load: Workload, warm_up: bytes, clients: int, *, with_worker: bool, workers: int | None
) -> Figure:
    """(b) without a worker: until the last 250; (c) with: until the last report is decided."""
    config = str(DEMO / "abusedesk.toml")
    messages = load.reports
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        env = abusedesk_env(data_dir, port, workers)
        cli = [sys.executable, "-m", "abusedesk", "--config", config]
        imported = subprocess.run(
            [*cli, "accounts", "import", str(load.accounts_csv)], env=env, capture_output=True
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

        with running([*cli, "serve", *roles], env, port) as pid:
            # The worker processes start after the listener: steady state is measured.
            drive(port, [warm_up], 1)
            if not with_worker:
                return measure(pid, lambda: drive(port, messages, clients))
            until_processed(1)
            cpu_before = process_tree_cpu(pid)
            start = time.perf_counter()
            accepted = drive(port, messages, clients)
            until_processed(len(messages) + 1)
            seconds = time.perf_counter() - start
            cpu = process_tree_cpu(pid) - cpu_before
        seen = outcome(data_dir)
    expected = len(messages) + 1  # the warm-up report is one of ours too
    if seen["complaints charged"] != expected or seen["suspensions"] < load.heavy:
        raise MeasurementFailed(f"the workload was not what it says: {seen}")
    described = ", ".join(f"{count} {name}" for name, count in seen.items())
    return Figure(seconds, cpu, accept_seconds=accepted, outcome=described)


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
    folder = Path(tempfile.mkdtemp(prefix="abusedesk-bench-intake-"))
    try:
        load = workload(folder, args.reports + 1)
        warm_up = load.reports.pop()  # sent to each server before it is measured
        n = len(load.reports)
        runs: list[tuple[Figure, Figure, Figure]] = []
        print(f"workload: {load.describe()}")
        print(f"          over {args.clients} connections, {args.runs} run(s)")
        print("run   (a) 250 only   (b) stored   (c) end to end   (c) accept    b/a    c/a  acc/a")
        for index in range(args.runs):
            before = run_baseline(load.reports, warm_up, args.clients)
            b = run_abusedesk(load, warm_up, args.clients, with_worker=False, workers=args.workers)
            c = run_abusedesk(load, warm_up, args.clients, with_worker=True, workers=args.workers)
            after = run_baseline(load.reports, warm_up, args.clients)
            a = Figure(
                2 / (1 / before.seconds + 1 / after.seconds),  # the mean of the two rates
                (before.server_cpu + after.server_cpu) / 2,
            )
            runs.append((a, b, c))
            ra, rb, rc, rd = (n / f for f in (a.seconds, b.seconds, c.seconds, c.accept_seconds))
            print(
                f"{index + 1:3d}   {ra:12.0f}   {rb:10.0f}   {rc:14.0f}   {rd:10.0f}   "
                f"{rb / ra:4.2f}   {rc / ra:4.2f}   {rd / ra:4.2f}",
                flush=True,
            )
        print(f"(c) stored, last run: {runs[-1][2].outcome}")
    except MeasurementFailed as exc:
        print(f"intake benchmark: could not measure: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def rates(column: int) -> list[float]:
        return [n / run[column].seconds for run in runs]

    def cpu_ms(column: int) -> list[float]:
        return [run[column].server_cpu / n * 1000 for run in runs]

    accept_rates = [n / run[2].accept_seconds for run in runs]
    stored_ratio = [b / a for a, b in zip(rates(0), rates(1), strict=True)]
    e2e_ratio = [c / a for a, c in zip(rates(0), rates(2), strict=True)]
    accept_ratio = [d / a for a, d in zip(rates(0), accept_rates, strict=True)]
    print()
    print("                                 reports/s, median (min - max)   server CPU ms/report")
    names = [
        "(a) aiosmtpd, handler answers 250",
        "(b) abusedesk, durable storage ",
        "(c) end to end, listener+worker ",
    ]
    for column, name in enumerate(names):
        print(f"{name:34s} {spread(rates(column), '7.0f'):28s}  {spread(cpu_ms(column), '5.2f')}")
    print(f"{'(c) accept rate, worker busy':34s} {spread(accept_rates, '7.0f'):28s}")
    print(f"ratio b/a: {spread(stored_ratio, '4.2f')}  target >= {TARGET_STORED}")
    print(f"ratio c/a: {spread(e2e_ratio, '4.2f')}  target >= {TARGET_END_TO_END}")
    print(
        f"ratio (c) accept/a: {spread(accept_ratio, '4.2f')}  target >= {TARGET_ACCEPT_WHILE_BUSY}"
    )
    met = (
        statistics.median(stored_ratio) >= TARGET_STORED
        and statistics.median(e2e_ratio) >= TARGET_END_TO_END
        and statistics.median(accept_ratio) >= TARGET_ACCEPT_WHILE_BUSY
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
