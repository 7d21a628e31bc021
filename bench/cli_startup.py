"""Benchmark: what one `abusedesk` command costs from start to exit, against `python -c pass`.

Four commands, each a process of its own, as a shell or an MTA starts them:

(a) `python -c pass`: the interpreter alone, the baseline;
(b) `abusedesk --version`;
(c) `abusedesk parse REPORT`: parse and attribute one report against the
    account directory, storing nothing;
(d) `abusedesk ingest -` with the report on stdin, as a Postfix pipe transport
    runs it once per report: store it in SQLite, then process it (parse,
    attribute, record the complaint, decide it with the default rules).

Setup, not timed: a fresh data dir (SQLite) in a temp folder, the demo config
(src/abusedesk/demo/abusedesk.toml: our relays, provider networks) and the sample
account directory imported, so the report is charged to a mailbox and its
complaint decided. Each ingest gets the report with a Message-ID of its own,
so every run records and decides a new complaint instead of finding a
duplicate. Bytecode is cached, as an installed wheel has it (a
PYTHONPYCACHEPREFIX in the temp folder, filled by a warm-up round that is not
counted). The commands run interleaved, round after round, so that a machine
getting busier or quieter tilts none of them; each figure is the median of
the rounds: wall seconds, the ratio to (a), and the process's CPU seconds
(user + system), which a shared machine disturbs less than the wall clock.

Targets (wall): `--version` under 0.25 s, `ingest -` of one report under 0.6 s.
Exit status 1 when one is missed.

    python bench/cli_startup.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
DEMO = REPO / "src" / "abusedesk" / "demo"
"""The demo's configuration and sample accounts, which the package carries."""
REPORT = FIXTURES / "reports" / "attribution" / "01-relay-alice.eml"
MESSAGE_ID = b"Message-ID: <arf.01-relay-alice@arf.mail.yahoo.example>"
TARGETS = {"version": 0.25, "ingest": 0.6}


@dataclass
class Command:
    name: str
    label: str
    argv: list[str]
    stdin: Sequence[bytes] = ()
    """One input per run (warm-up first); none: the command reads nothing."""
    expect: bytes = b""
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, env: dict[str, str], cwd: Path, index: int, *, counted: bool = True) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(
            self.argv,
            input=self.stdin[index] if self.stdin else None,
            stdin=None if self.stdin else subprocess.DEVNULL,
            capture_output=True,
            env=env,
            cwd=cwd,
            check=False,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0 or self.expect not in result.stdout:
            sys.exit(
                f"{self.label}: exit {result.returncode}, expected {self.expect!r} in the output\n"
                f"{result.stdout.decode(errors='replace')}{result.stderr.decode(errors='replace')}"
            )
        if counted:
            self.wall.append(wall)
            self.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def environment(tmp: Path) -> dict[str, str]:
    """This environment (PYTHONPATH included) with the bench's config and bytecode cache."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ABUSEDESK_") and name != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        {
            "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
            "ABUSEDESK_CONFIG": str(DEMO / "abusedesk.toml"),
            "ABUSEDESK_DATA_DIR": str(tmp / "data"),
        }
    )
    return env


def distinct_reports(count: int) -> list[bytes]:
    """The sample report `count` times, each with a Message-ID of its own."""
    raw = REPORT.read_bytes()
    if MESSAGE_ID not in raw:
        sys.exit(f"{REPORT}: no {MESSAGE_ID!r} to make distinct")
    return [
        raw.replace(MESSAGE_ID, f"Message-ID: <bench-{n}@arf.mail.yahoo.example>".encode())
        for n in range(count)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    abusedesk = [sys.executable, "-m", "abusedesk"]
    commands = [
        Command("pass", "(a) python -c pass", [sys.executable, "-c", "pass"]),
        Command(
            "version", "(b) abusedesk --version", [*abusedesk, "--version"], expect=b"abusedesk "
        ),
        Command(
            "parse",
            "(c) abusedesk parse REPORT",
            [*abusedesk, "parse", str(REPORT)],
            expect=b"charged to alice@shop.example",
        ),
        Command(
            "ingest",
            "(d) abusedesk ingest - < REPORT",
            [*abusedesk, "ingest", "-"],
            stdin=distinct_reports(rounds + 1),
            expect=b"stored 1 report(s); processed 1",
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as name:
        tmp = Path(name)
        env = environment(tmp)
        subprocess.run(
            [*abusedesk, "accounts", "import", str(DEMO / "accounts.csv")],
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        for command in commands:
            command.run(env, tmp, 0, counted=False)
        for index in range(1, rounds + 1):
            for command in commands:
                command.run(env, tmp, index)

    baseline = statistics.median(commands[0].wall)
    print(
        f"workload: each command {rounds} times, interleaved, median; SQLite in a fresh temp "
        "data dir\n          with the demo config and accounts (package data) imported;\n"
        "          bytecode cached (one warm-up round, not counted)"
    )
    print(
        f"report:   {REPORT.relative_to(REPO)}, charged to alice@shop.example;\n"
        "          each ingest records and decides a complaint of its own (a new Message-ID)"
    )
    print()
    print(f"{'command':34} {'wall s':>7} {'x (a)':>7} {'cpu s':>7}   target (wall)")
    missed = False
    for command in commands:
        wall = statistics.median(command.wall)
        target = TARGETS.get(command.name)
        verdict = ""
        if target is not None:
            met = wall < target
            missed = missed or not met
            verdict = f"< {target} s: {'met' if met else 'NOT met'}"
        line = (
            f"{command.label:34} {wall:7.3f} {wall / baseline:7.1f} "
            f"{statistics.median(command.cpu):7.3f}   {verdict}"
        )
        print(line.rstrip())
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
