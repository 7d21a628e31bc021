"""Benchmark: the Postfix policy service against a trivial asyncio server that always says DUNNO.

(a) baseline: an asyncio server that finds the end of each request and answers
    `action=DUNNO`, nothing else;
(b) `abusedesk serve --policy`, the command users run, as a process of its own: its send
    state loaded from a SQLite database of 1,000,000 mailboxes of which 10,000 are
    suspended, asked only at RCPT (a relay without `smtpd_end_of_data_restrictions`);
(c) the same, asked as the README configures Postfix: a RCPT request per recipient, then
    END-OF-MESSAGE, which the service meters (written to the database every few seconds).

The requests are the ones a real Postfix sends, every attribute of them:
`fixtures/postfix/policy-requests.txt`, recorded from the relay the test suite starts
(`bench/_postfix_requests.py`; a test checks the installed Postfix still sends that), with
senders drawn from the whole mailbox population (1% suspended) and 1, 1, 2, 3 recipients
per message in turn. The same client, in a process of its own, drives every server: many
connections, each asking one request at a time and waiting for the answer, as Postfix's
smtpd processes do. Targets: (b)/(a) and (c)/(a) >= 0.8 in requests/s, p99 under 2 ms.

    python bench/policy.py [--mailboxes 1000000] [--suspended 10000] [--connections 8]
                           [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "bench"))
from _postfix_requests import RECORDED, load, messages  # noqa: E402  (what Postfix sends)

DOMAINS = 1000


def address(number: int) -> str:
    return f"user{number}@d{number % DOMAINS}.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the database -------------------------------------------------------------------------


def build_database(url: str, mailboxes: int, suspended: int) -> float:
    """A migrated database with `mailboxes` mailboxes, every (mailboxes/suspended)-th suspended."""
    from sqlalchemy import text

    from abusedesk.store.engine import create_database_engine
    from abusedesk.store.migrate import upgrade_database

    started = time.perf_counter()
    engine = create_database_engine(url)
    upgrade_database(engine)
    step = max(mailboxes // max(suspended, 1), 1)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO company (id, name, created_at) VALUES (1, 'Bench', '2026-01-01')")
        )
        connection.execute(
            text("INSERT INTO domain (id, name, company_id, created_at) VALUES (:i, :n, 1, :c)"),
            [{"i": d + 1, "n": f"d{d}.example", "c": "2026-01-01"} for d in range(DOMAINS)],
        )
        insert = text(
            "INSERT INTO mailbox (id, address, domain_id, can_send, can_receive, can_login) "
            "VALUES (:i, :a, :d, :s, true, true)"
        )
        for start in range(0, mailboxes, 50_000):
            connection.execute(
                insert,
                [
                    {"i": n + 1, "a": address(n), "d": n % DOMAINS + 1, "s": n % step != 0}
                    for n in range(start, min(start + 50_000, mailboxes))
                ],
            )
    engine.dispose()
    return time.perf_counter() - started


# --- the servers ----------------------------------------------------------------------------


def serve_trivial(port: int) -> None:
    """The baseline: answer DUNNO to every request, reading only where each one ends."""

    class Dunno(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            count = self.buffer.count(b"\n\n")
            if count:
                self.buffer = self.buffer[self.buffer.rfind(b"\n\n") + 2 :]
                self.transport.write(b"action=DUNNO\n\n" * count)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Dunno, "127.0.0.1", port)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


def abusedesk_command(folder: Path, url: str, port: int) -> list[str]:
    """`abusedesk serve --policy` on `port`, with a config of its own in `folder`."""
    config = folder / f"policy-{port}.toml"
    config.write_text(
        f'data_dir = "{folder}"\ndatabase_url = "{url}"\nlog_level = "WARNING"\n'
        f'[policy]\nhost = "127.0.0.1"\nport = {port}\n'
    )
    return [sys.executable, "-m", "abusedesk", "--config", str(config), "serve", "--policy"]


# --- the client -----------------------------------------------------------------------------


def requests(mailboxes: int, count: int, metering: bool, seed: int = 7) -> list[bytes]:
    """The requests of `count` messages, one by one; without `metering`, the RCPT ones only."""
    chooser = random.Random(seed)
    senders = [address(chooser.randrange(mailboxes)) for _ in range(count)]
    blocks = []
    for message in messages(senders, count, seed=seed):
        for block in message.split(b"\n\n")[:-1]:
            if metering or b"protocol_state=RCPT\n" in block:
                blocks.append(block + b"\n\n")
    return blocks


def run_client(
    port: int, connections: int, seconds: float, warmup: float, mailboxes: int, metering: bool
) -> None:
    """Drive the server; print one JSON line: requests, seconds, latencies, answers seen."""
    blocks = requests(mailboxes, 20_000, metering)

    class Asker(asyncio.Protocol):
        def __init__(self, offset: int, latencies: array[float], answers: dict[str, int]) -> None:
            self.next = offset
            self.latencies = latencies
            self.answers = answers
            self.buffer = b""
            self.sent_at = 0.0
            self.recording = False
            self.total = 0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.ask()

        def ask(self) -> None:
            self.sent_at = time.perf_counter()
            self.transport.write(blocks[self.next % len(blocks)])
            self.next += 1

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            if not self.buffer.endswith(b"\n\n"):
                return
            now = time.perf_counter()
            self.total += 1
            if self.recording:
                self.latencies.append(now - self.sent_at)
                verb = self.buffer[7:13].decode()
                self.answers[verb] = self.answers.get(verb, 0) + 1
            self.buffer = b""
            self.ask()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        latencies: array[float] = array("d")
        answers: dict[str, int] = {}
        askers = []
        for number in range(connections):
            _, asker = await loop.create_connection(
                lambda n=number: Asker(n * 997, latencies, answers), "127.0.0.1", port
            )
            askers.append(asker)
        await asyncio.sleep(warmup)
        for asker in askers:
            asker.recording = True
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        for asker in askers:
            asker.recording = False
        elapsed = time.perf_counter() - started
        for asker in askers:
            asker.transport.close()
        ordered = sorted(latencies)
        print(
            json.dumps(
                {
                    "requests": len(ordered),
                    "seconds": elapsed,
                    "p50_ms": ordered[len(ordered) // 2] * 1000,
                    "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
                    "answers": answers,
                    "all_requests": sum(asker.total for asker in askers),
                }
            ),
            flush=True,
        )

    asyncio.run(main())


# --- the run --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    server: list[str], ready_line: str, args: argparse.Namespace, port: int, *, metering: bool
) -> tuple[dict[str, object], float]:
    """Start `server`, wait for `ready_line` on its output, drive it; the client's figures
    and how long the server took to be ready."""
    started = time.perf_counter()
    process = subprocess.Popen(server, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        while not (line := process.stdout.readline()).startswith(ready_line):
            if not line:
                raise SystemExit(f"server did not start: {' '.join(server)}")
        ready = time.perf_counter() - started
        cpu_before = cpu_seconds(process.pid)
        client = subprocess.run(
            [
                *(sys.executable, __file__),
                *("--client", "--port", str(port), "--connections", str(args.connections)),
                *("--seconds", str(args.seconds), "--warmup", str(args.warmup)),
                *("--mailboxes", str(args.mailboxes)),
                *(["--metering"] if metering else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, object] = json.loads(client.stdout)
        result["server_cpu"] = cpu_seconds(process.pid) - cpu_before
        return result, ready
    finally:
        process.terminate()
        process.wait(10)


def _rate(result: dict[str, object]) -> float:
    return float(result["requests"]) / float(result["seconds"])  # type: ignore[arg-type]


def _cost_us(result: dict[str, object]) -> float:
    return float(result["server_cpu"]) / float(result["all_requests"]) * 1e6  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1_000_000)
    parser.add_argument("--suspended", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int)
    parser.add_argument("--trivial-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--metering", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trivial_server:
        return serve_trivial(args.port)
    if args.client:
        return run_client(
            args.port, args.connections, args.seconds, args.warmup, args.mailboxes, args.metering
        )

    recorded = load()
    print(
        f"workload: {args.mailboxes:,} mailboxes, {args.suspended:,} suspended (SQLite); "
        f"requests as recorded from Postfix ({RECORDED.name}: "
        f"{len(recorded[0])} attributes a request), senders from every mailbox, "
        "1, 1, 2, 3 recipients a message in turn;"
    )
    print(
        f"          {args.connections} connections, one request at a time each; "
        f"{args.seconds:g} s per server and round, {args.rounds} rounds interleaved, medians"
    )
    with tempfile.TemporaryDirectory(prefix="abusedesk-bench-policy-") as name:
        folder = Path(name)
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        built = build_database(url, args.mailboxes, args.suspended)
        print(f"database built in {built:.1f} s")
        servers = {
            "a": lambda port: (
                [sys.executable, __file__, "--trivial-server", "--port", str(port)],
                "ready",
            ),
            "b": lambda port: (abusedesk_command(folder, url, port), "abusedesk: Postfix policy"),
            "c": lambda port: (abusedesk_command(folder, url, port), "abusedesk: Postfix policy"),
        }
        runs: dict[str, list[dict[str, object]]] = {key: [] for key in servers}
        ready: list[float] = []
        order = list(servers)
        for round_number in range(args.rounds):
            # The order turns every round (a b c, b c a, …): none always goes first.
            shift = round_number % len(order)
            for key in order[shift:] + order[:shift]:
                port = free_port()
                command, line = servers[key](port)
                result, took = measure(command, line, args, port, metering=key == "c")
                runs[key].append(result)
                if key != "a":
                    ready.append(took)
    print(f"abusedesk serve --policy ready (send state loaded) in {statistics.median(ready):.2f} s")
    print(
        f"{'server':<34} {'requests/s':>11} {'p50 ms':>7} {'p99 ms':>7} {'server CPU/req':>15}"
        "  answers (last round)"
    )
    names = {
        "a": "(a) trivial DUNNO server",
        "b": "(b) serve --policy, RCPT",
        "c": "(c) serve --policy, RCPT + EOM",
    }
    for key, name in names.items():
        results = runs[key]
        rate = statistics.median(_rate(r) for r in results)
        p50 = statistics.median(float(r["p50_ms"]) for r in results)  # type: ignore[arg-type]
        p99 = statistics.median(float(r["p99_ms"]) for r in results)  # type: ignore[arg-type]
        cost = statistics.median(_cost_us(r) for r in results)
        answers = {verb.strip(): n for verb, n in results[-1]["answers"].items()}  # type: ignore[attr-defined]
        print(f"{name:<34} {rate:>11,.0f} {p50:>7.3f} {p99:>7.3f} {cost:>12.1f} us  {answers}")
    for key in ("b", "c"):
        ratios = [
            _rate(ours) / _rate(base) for ours, base in zip(runs[key], runs["a"], strict=True)
        ]
        costs = [
            _cost_us(ours) / _cost_us(base) for ours, base in zip(runs[key], runs["a"], strict=True)
        ]
        ratio = statistics.median(ratios)
        p99 = max(float(r["p99_ms"]) for r in runs[key])  # type: ignore[arg-type]
        print(
            f"ratio ({key})/(a): {ratio:.2f} in requests/s "
            f"({min(ratios):.2f} - {max(ratios):.2f}), "
            f"target >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}; "
            f"server CPU per request {statistics.median(costs):.2f}x; "
            f"worst p99 {p99:.3f} ms, target < 2 ms: {'met' if p99 < 2 else 'NOT met'}"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
