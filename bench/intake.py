"""Benchmark: SMTP intake throughput against a do-nothing aiosmtpd server, in the same run.

(a) baseline: aiosmtpd with a handler that only answers `250 OK`;
(b) abusedesk's listener storing every report durably (SQLite, group commit), no worker;
(c) end to end: listener and worker in one process, reports parsed, attributed and
    recorded, timed until the last one is processed.

Each server runs in a process of its own; the same client (8 concurrent connections,
real corpus reports made distinct by a line in their epilogue) drives all three.
Targets: (b)/(a) >= 0.7 and (c)/(a) >= 0.5.

    python bench/intake.py [--reports 3000] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "arf"
RECIPIENT = "fbl@abusedesk.example"


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
    bodies = [re.sub(rb"\r\n|\n|\r", b"\r\n", path.read_bytes()).rstrip(b"\r\n") for path in files]
    return [bodies[i % len(bodies)] + b"\r\n\r\nbench copy %d\r\n" % i for i in range(count)]


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def drive(port: int, messages: list[bytes], clients: int) -> float:
    """Send all messages over `clients` connections; seconds from first to last 250."""
    failures: list[str] = []

    def client(share: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo("bench.example")
            for message in share:
                smtp.mail("fbl@provider.example")
                smtp.rcpt(RECIPIENT)
                code, reply = smtp.data(message)
                if code != 250:
                    failures.append(f"{code} {reply!r}")

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
        raise SystemExit(f"{len(failures)} reports not accepted, e.g. {failures[0]}")
    return elapsed


def abusedesk_env(data_dir: Path, port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")},
        "ABUSEDESK_DATA_DIR": str(data_dir),
        "ABUSEDESK_SMTP__PORT": str(port),
        "ABUSEDESK_LOG_LEVEL": "WARNING",
        # Every client here is one peer (127.0.0.1); the per-peer limit is not measured.
        "ABUSEDESK_SMTP__MAX_MESSAGES_PER_PEER_PER_MINUTE": "10000000",
    }


def processed_count(data_dir: Path) -> int:
    import sqlite3

    with sqlite3.connect(data_dir / "abusedesk.sqlite3") as db:
        return int(
            db.execute("SELECT count(*) FROM rawreport WHERE status != 'pending'").fetchone()[0]
        )


def run_abusedesk(messages: list[bytes], clients: int, with_worker: bool) -> tuple[float, float]:
    """(seconds until the last 250, seconds until the last report was processed)."""
    config = str(REPO / "fixtures" / "abusedesk.toml")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        env = abusedesk_env(data_dir, port)
        cli = [sys.executable, "-m", "abusedesk", "--config", config]
        subprocess.run(
            [*cli, "accounts", "import", str(REPO / "fixtures" / "accounts.csv")],
            env=env,
            check=True,
            capture_output=True,
        )
        roles = ["--no-web"] + ([] if with_worker else ["--no-worker"])
        server = subprocess.Popen(
            [*cli, "serve", *roles], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port(port, server)
            start = time.perf_counter()
            accepted = drive(port, messages, clients)
            processed = accepted
            if with_worker:
                while processed_count(data_dir) < len(messages):
                    time.sleep(0.05)
                processed = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait(30)
    return accepted, processed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return
    messages = corpus_messages(args.reports)

    port = free_port()
    baseline = subprocess.Popen([sys.executable, __file__, "--serve-baseline", str(port)])
    try:
        wait_for_port(port, baseline)
        baseline_seconds = drive(port, messages, args.clients)
    finally:
        baseline.terminate()
        baseline.wait(10)
    stored_seconds, _ = run_abusedesk(messages, args.clients, with_worker=False)
    _, e2e_seconds = run_abusedesk(messages, args.clients, with_worker=True)

    n = len(messages)
    a, b, c = n / baseline_seconds, n / stored_seconds, n / e2e_seconds
    print(f"reports: {n} corpus reports over {args.clients} connections")
    print(f"(a) aiosmtpd, handler answers 250 only:       {a:8.0f} reports/s")
    print(
        f"(b) abusedesk listener, durable storage:      {b:8.0f} reports/s  "
        f"ratio b/a {b / a:.2f} (target >= 0.7)"
    )
    print(
        f"(c) end to end (listener + worker, SQLite):   {c:8.0f} reports/s  "
        f"ratio c/a {c / a:.2f} (target >= 0.5)"
    )


if __name__ == "__main__":
    main()
