"""Soak mode of the intake benchmark (`python bench/intake.py --duration SECONDS`).

Runs the end-to-end configuration of bench/intake.py ((c): `abusedesk serve`
with listener and worker processes, SQLite) for the given time with fresh,
distinct reports, and samples the resident memory (VmRSS, summed over the
server process and all its descendants, the workers included) once a second.

The first 10% of the run's time is warm-up (imports, caches, SQLite page
cache, allocator arenas settling). The post-warm-up RSS is the median of the
samples in the next 5% of the time; the end RSS is the median of the last 5%
(medians, so that one sample taken mid-garbage-collection does not decide the
verdict). Growth is reported per 100,000 reports processed between those two
points, as a percentage of the post-warm-up RSS, extrapolated linearly when
the run processed fewer. Target: under 5% (flat); exit 1 when missed. Runs
under a couple of minutes end their warm-up too early (the first ~20,000
reports still grow the RSS by a few MiB) and overstate the growth.

The SQLite database grows with every report, as it does in production: this
measures process memory, not disk. The client keeps at most BACKLOG reports
accepted but not yet processed, so that the worker, not the listener's queue,
sets the pace and the end of the run does not wait on a long backlog.
"""

from __future__ import annotations

import itertools
import os
import re
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import intake

TARGET_GROWTH_PERCENT = 5.0
WARM_UP_FRACTION = 0.10
WINDOW_FRACTION = 0.05
SAMPLE_SECONDS = 1.0
BACKLOG = 2000
PER_100K = 100_000


@dataclass(frozen=True, slots=True)
class Sample:
    elapsed: float
    accepted: int
    processed: int
    rss_kib: int
    processes: int


def rss_kib(pid: int) -> tuple[int, int]:
    """VmRSS summed over `pid` and its live descendants, and how many processes that was."""
    total, count = 0, 0
    for member in intake.tree_pids(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue  # exited between the listing and the read
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
                count += 1
                break
    return total, count


class Driver:
    """Client threads sending distinct corpus reports until told to stop."""

    def __init__(self, port: int, bodies: list[bytes], clients: int) -> None:
        self.port = port
        self.bodies = bodies
        self.numbers = itertools.count()
        self.accepted = 0
        self.processed = 0
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client) for _ in range(clients)]

    def client(self) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as smtp:
                smtp.ehlo("bench.example")
                while not self.stop.is_set():
                    if self.accepted - self.processed > BACKLOG:
                        time.sleep(0.05)  # let the worker catch up
                        continue
                    number = next(self.numbers)
                    body = self.bodies[number % len(self.bodies)]
                    smtp.mail("fbl@provider.example")
                    smtp.rcpt(intake.RECIPIENT)
                    code, reply = smtp.data(body + b"\r\n\r\nsoak copy %d\r\n" % number)
                    if code != 250:
                        self.failures.append(f"{code} {reply!r}")
                        self.stop.set()
                        return
                    with self.lock:
                        self.accepted += 1
        except (OSError, smtplib.SMTPException) as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
            self.stop.set()


def median_rss(samples: list[Sample], start: float, end: float) -> tuple[float, Sample]:
    window = [s for s in samples if start <= s.elapsed <= end] or samples[-1:]
    return statistics.median(s.rss_kib for s in window), window[-1]


def soak(duration: float, clients: int, workers: int | None) -> int:
    try:
        return run(duration, clients, workers)
    except intake.MeasurementFailed as exc:
        print(f"intake soak: could not measure: {exc}", file=sys.stderr)
        return 2


CORPUS = intake.REPO.parent / "shared" / "corpus" / "arf"


def corpus_bodies() -> list[bytes]:
    """The public corpus reports, CRLF, without their final line ends (the client adds a
    line of its own to each copy, so that no two are the same)."""
    files = sorted(CORPUS.glob("*.eml"))
    if not files:
        raise intake.MeasurementFailed(f"no corpus reports in {CORPUS}")
    return [re.sub(rb"\r\n|\n|\r", b"\r\n", path.read_bytes()).rstrip(b"\r\n") for path in files]


def run(duration: float, clients: int, workers: int | None) -> int:
    bodies = corpus_bodies()
    config = str(intake.DEMO / "abusedesk.toml")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = intake.free_port()
        env = intake.abusedesk_env(data_dir, port, workers)
        cli = [sys.executable, "-m", "abusedesk", "--config", config]
        imported = subprocess.run(
            [*cli, "accounts", "import", str(intake.DEMO / "accounts.csv")],
            env=env,
            capture_output=True,
        )
        if imported.returncode != 0:
            raise intake.MeasurementFailed(f"accounts import failed: {imported.stderr.decode()}")
        with intake.running([*cli, "serve", "--no-web"], env, port) as pid:
            samples = drive_and_sample(pid, port, bodies, clients, duration, data_dir)
    return report(samples, duration, clients)


def drive_and_sample(
    pid: int, port: int, bodies: list[bytes], clients: int, duration: float, data_dir: Path
) -> list[Sample]:
    driver = Driver(port, bodies, clients)
    samples: list[Sample] = []
    start = time.perf_counter()
    for thread in driver.threads:
        thread.start()
    try:
        while (elapsed := time.perf_counter() - start) < duration and not driver.stop.is_set():
            driver.processed = intake.processed_count(data_dir)
            rss, count = rss_kib(pid)
            samples.append(Sample(elapsed, driver.accepted, driver.processed, rss, count))
            time.sleep(max(0.0, SAMPLE_SECONDS - (time.perf_counter() - start - elapsed)))
    finally:
        driver.stop.set()
        for thread in driver.threads:
            thread.join()
    if driver.failures:
        raise intake.MeasurementFailed(
            f"{len(driver.failures)} client failures, e.g. {driver.failures[0]}"
        )
    if len(samples) < 20:
        raise intake.MeasurementFailed("too few samples: run for at least 20 seconds")
    return samples


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def report(samples: list[Sample], duration: float, clients: int) -> int:
    warm_end = duration * WARM_UP_FRACTION
    warm_rss, warm = median_rss(samples, warm_end, warm_end + duration * WINDOW_FRACTION)
    end_rss, last = median_rss(samples, duration * (1 - WINDOW_FRACTION), duration)
    processed = last.processed - warm.processed
    if processed <= 0:
        raise intake.MeasurementFailed("no reports were processed after the warm-up")
    growth = (end_rss - warm_rss) / warm_rss * 100 * PER_100K / processed
    print(f"soak: {duration:.0f} s end to end (listener + workers, SQLite), {clients} connections")
    print("memory is the VmRSS summed over the server process and its workers;")
    print("the SQLite database grows on disk as in production and is not counted")
    print()
    print("  elapsed   accepted   processed   reports/s   RSS MiB   processes")
    step = max(1, len(samples) // 10)
    previous = samples[0]
    for sample in [*samples[step::step], samples[-1]]:
        if sample is previous:
            continue
        rate = (sample.processed - previous.processed) / (sample.elapsed - previous.elapsed)
        print(
            f"  {sample.elapsed:6.0f} s  {sample.accepted:9d}   {sample.processed:9d}   "
            f"{rate:9.0f}   {sample.rss_kib / 1024:7.1f}   {sample.processes:9d}"
        )
        previous = sample
    print()
    print(f"load average at the end: {load()} (a shared machine tilts reports/s, not RSS)")
    print(f"reports processed: {samples[-1].processed} in {samples[-1].elapsed:.0f} s")
    print(
        f"warm-up: the first {WARM_UP_FRACTION:.0%} of the time ({warm_end:.0f} s, "
        f"{warm.processed} reports); RSS medians over {WINDOW_FRACTION:.0%} windows"
    )
    print(f"RSS after warm-up: {warm_rss / 1024:.1f} MiB")
    print(f"RSS at the end:    {end_rss / 1024:.1f} MiB")
    print(
        f"growth: {growth:+.2f}% per 100,000 reports ({processed} reports measured"
        f"{', extrapolated' if processed < PER_100K else ''})"
    )
    passed = growth < TARGET_GROWTH_PERCENT
    print(f"{'PASS' if passed else 'FAIL'}: target under {TARGET_GROWTH_PERCENT:.0f}%")
    return 0 if passed else 1
