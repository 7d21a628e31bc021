"""Benchmark: from the 250 for the report that crosses the limit to the first REJECT for its sender.

The whole pipeline runs as `abusedesk serve` runs it, in one process: the SMTP
listener stores the report, the worker parses, attributes, records and decides
it (the shipped rules suspend after more than 5 trusted complaints in 24 hours),
the database triggers log the change, the policy service's send state picks it
up (SQLite: polling the change version; PostgreSQL: LISTEN/NOTIFY). Each trial
takes a fresh mailbox, sends it 5 complaints and waits until they are processed,
then sends the 6th and, from its `250`, asks the policy service about that
sender over one connection, as Postfix would, until the answer is REJECT.
Target: p99 under 1 s.

    python bench/suspension_latency.py [--trials 40] [--database postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import smtplib
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import DEMO  # noqa: E402
from tests.support.reports import numbered_report  # noqa: E402

from abusedesk.accounts.csv_reader import read_account_rows  # noqa: E402
from abusedesk.accounts.importer import import_accounts  # noqa: E402
from abusedesk.config import Settings, load_settings  # noqa: E402
from abusedesk.pipeline.claims import pending_count  # noqa: E402
from abusedesk.service import Listening, Roles, run_service  # noqa: E402
from abusedesk.store.engine import create_database_engine  # noqa: E402
from abusedesk.store.migrate import upgrade_database  # noqa: E402

RECIPIENT = "fbl@abusedesk.example"
LIMIT = 5  # the packaged default policy (abusedesk/rules/default.yaml): complaint_limit


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Service:
    """`abusedesk serve` (SMTP, worker, policy) in a thread with its own event loop."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.engine = create_database_engine(url)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self.listening = Listening()
        roles = Roles(web=False, imap=False)
        self._thread = threading.Thread(
            target=self._loop.run_until_complete,
            args=(run_service(settings, self.engine, roles, stop=self._stop, on_ready=self._on),),
            daemon=True,
        )

    def _on(self, listening: Listening) -> None:
        self.listening = listening
        self._ready.set()

    def __enter__(self) -> Service:
        self._thread.start()
        if not self._ready.wait(60):
            raise SystemExit("the service did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.engine.dispose()


def ask(sock: socket.socket, sender: str) -> bytes:
    sock.sendall(
        b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
        + f"sasl_username={sender}\nsender={sender}\nrecipient=x@example.net\n\n".encode()
    )
    answer = b""
    while not answer.endswith(b"\n\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("the policy service closed the connection")
        answer += chunk
    return answer


def trial(service: Service, number: int, sender: str) -> float:
    assert service.listening.smtp and service.listening.policy
    reports = [crlf(numbered_report(number * 10 + k, sender=sender)) for k in range(LIMIT + 1)]
    with (
        smtplib.SMTP(*service.listening.smtp, timeout=30) as smtp,
        socket.create_connection(service.listening.policy, timeout=10) as policy,
    ):
        for raw in reports[:LIMIT]:
            smtp.sendmail("fbl@provider.example", [RECIPIENT], raw)
        while pending_count(service.engine):
            time.sleep(0.01)
        if not ask(policy, sender).startswith(b"action=DUNNO"):
            raise SystemExit(f"{sender} was refused before the limit was crossed")
        smtp.sendmail("fbl@provider.example", [RECIPIENT], reports[LIMIT])
        accepted = time.perf_counter()  # sendmail returns on the 250 to DATA
        deadline = accepted + 30
        while not ask(policy, sender).startswith(b"action=REJECT"):
            if time.perf_counter() > deadline:
                raise SystemExit(f"{sender} was never refused")
            time.sleep(0.0005)
        return time.perf_counter() - accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="abusedesk-bench-latency-") as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        accounts = Path(folder) / "accounts.csv"
        accounts.write_text(
            "company,company_abuse_contact,domain,address,created_at\n"
            + "".join(
                f"Bench,abuse@bench.example,shop.example,trial{n}@shop.example,"
                "2024-01-01T00:00:00Z\n"
                for n in range(args.trials)
            )
        )
        engine = create_database_engine(url)
        upgrade_database(engine)
        import_accounts(engine, read_account_rows(accounts))
        engine.dispose()
        settings = load_settings(
            DEMO / "abusedesk.toml",
            environ={
                "ABUSEDESK_DATABASE_URL": url,
                "ABUSEDESK_DATA_DIR": folder,
                "ABUSEDESK_SMTP__PORT": "0",
                "ABUSEDESK_POLICY__PORT": "0",
                "ABUSEDESK_RULES__RELOAD": "false",
                # The worker processes log every report at INFO; the figures are what matter.
                "ABUSEDESK_LOG_LEVEL": "WARNING",
            },
        )
        latencies = []
        with Service(settings, url) as service:
            for number in range(args.trials):
                latencies.append(trial(service, number, f"trial{number}@shop.example"))
    latencies.sort()
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"

    def percentile(p: float) -> float:
        return latencies[min(int(len(latencies) * p), len(latencies) - 1)] * 1000

    print(
        f"{len(latencies)} trials on {kind}: from the 250 for the complaint that crosses the "
        "limit to the first REJECT for its sender"
    )
    print(
        f"p50 {percentile(0.5):.0f} ms   p90 {percentile(0.9):.0f} ms   "
        f"p99 {percentile(0.99):.0f} ms   max {latencies[-1] * 1000:.0f} ms"
    )
    p99 = percentile(0.99)
    print(f"target p99 < 1000 ms: {'met' if p99 < 1000 else 'NOT met'}")


if __name__ == "__main__":
    main()
