"""`abusedesk serve` as a real process of its own, for tests that kill it or its workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import DEMO

REPO = Path(__file__).resolve().parents[2]
CONFIG = DEMO / "abusedesk.toml"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """One `abusedesk serve` on a free SMTP port, web off; `start` again after a `kill`."""

    def __init__(self, database_url: str, tmp_path: Path, *serve_args: str) -> None:
        self.port = free_port()
        self.serve_args = serve_args
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")},
            "ABUSEDESK_DATABASE_URL": database_url,
            "ABUSEDESK_DATA_DIR": str(tmp_path / "data"),
            "ABUSEDESK_SMTP__PORT": str(self.port),
            "ABUSEDESK_WEB__ENABLED": "false",
            "ABUSEDESK_LOG_LEVEL": "WARNING",
            "ABUSEDESK_SMTP__MAX_MESSAGES_PER_PEER_PER_MINUTE": "10000000",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def import_accounts(self) -> None:
        """The sample account directory, so that reports from its mailboxes are attributed."""
        accounts = str(DEMO / "accounts.csv")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "abusedesk",
                "--config",
                str(CONFIG),
                "accounts",
                "import",
                accounts,
            ],
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "abusedesk", "--config", str(CONFIG), "serve", *self.serve_args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("abusedesk serve did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def worker_processes(parent: int) -> list[int]:
    """The worker processes `serve` (process `parent`) started."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == parent and b"spawn_main" in command:
            found.append(int(entry))
    return sorted(found)


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"
