"""Several `abusedesk serve` nodes as processes of their own, on one database.

Each node gets its own ports and data folder; they share the database and the
rules file, and nothing else, as separate machines would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.enforce.policy_client import read_answers, request
from tests.support.service_process import CONFIG, free_port

START_SECONDS = 60


class Node:
    """One `abusedesk serve <roles>`; `start` again after a `kill`, on the same ports."""

    def __init__(
        self, name: str, database_url: str, tmp_path: Path, rules: Path, *serve_args: str
    ) -> None:
        self.name = name
        self.serve_args = serve_args
        self.smtp_port = free_port()
        self.policy_port = free_port()
        self.log_path = tmp_path / f"{name}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")},
            "ABUSEDESK_DATABASE_URL": database_url,
            "ABUSEDESK_DATA_DIR": str(tmp_path / name),
            "ABUSEDESK_RULES__PATH": str(rules),
            "ABUSEDESK_SMTP__PORT": str(self.smtp_port),
            "ABUSEDESK_POLICY__PORT": str(self.policy_port),
            "ABUSEDESK_WEB__PORT": str(free_port()),
            # Nothing listens there: notices wait in the outbox, as with a smarthost away.
            "ABUSEDESK_NOTICES__SMARTHOST_PORT": str(free_port()),
            "ABUSEDESK_LOG_LEVEL": "WARNING",
            "ABUSEDESK_SMTP__MAX_MESSAGES_PER_PEER_PER_MINUTE": "10000000",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Start the process; `wait_until_listening` says when it is ready."""
        with self.log_path.open("ab") as log:
            command = [sys.executable, "-m", "abusedesk", "--config", str(CONFIG), "serve"]
            self.process = subprocess.Popen(
                [*command, *self.serve_args],
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def wait_until_listening(self, *ports: int) -> None:
        deadline = time.monotonic() + START_SECONDS
        waiting = list(ports)
        while waiting:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"node {self.name} exited: {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"node {self.name} did not listen on {waiting}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=1):
                    waiting.pop(0)
            except OSError:
                time.sleep(0.05)

    def start(self, *ports: int) -> None:
        self.launch()
        self.wait_until_listening(*ports)

    def kill(self) -> None:
        """SIGKILL, as a power cut would: nothing of the node gets to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def policy_answer(self, sender: str) -> str:
        """What the node's policy service answers Postfix for a SASL user at RCPT."""
        with socket.create_connection(("127.0.0.1", self.policy_port), timeout=5) as sock:
            sock.sendall(request(sasl_username=sender, sender=sender))
            [answer] = read_answers(sock, 1)
        return answer

    def policy_answers(self, senders: list[str]) -> dict[str, str]:
        """The answers for many senders over one connection, pipelined as Postfix may."""
        answers: list[str] = []
        with socket.create_connection(("127.0.0.1", self.policy_port), timeout=10) as sock:
            for start in range(0, len(senders), 50):  # what a client may have in flight
                chunk = senders[start : start + 50]
                sock.sendall(b"".join(request(sasl_username=s, sender=s) for s in chunk))
                answers += read_answers(sock, len(chunk), timeout=10)
        assert len(answers) == len(senders)
        return dict(zip(senders, answers, strict=True))


def new_schema_url(postgres_url: str) -> str:
    """A fresh, empty schema in the test run's PostgreSQL database: a throwaway database."""
    schema = f"n_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return (
        make_url(postgres_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def run_abusedesk(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One `abusedesk` command on `database_url` with the demo configuration; must succeed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")}
    env["ABUSEDESK_DATABASE_URL"] = database_url
    done = subprocess.run(
        [sys.executable, "-m", "abusedesk", "--config", str(CONFIG), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done
