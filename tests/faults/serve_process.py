"""`abusedesk serve` in a process of its own, for faults that need its memory measured alone.

A fault that opens thousands of connections or sends 50 MB must not count the
test's own sockets and buffers as the server's: the server runs as the real
command, and `rss_bytes()` reads its resident memory from /proc.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import DEFAULT_RULES, DEMO

LISTENING = re.compile(r"reports accepted by SMTP on ([0-9.]+):(\d+)")
POLICY = re.compile(r"Postfix policy service on ([0-9.]+):(\d+)")


class ServeProcess:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.output: list[str] = []
        self._ready = threading.Event()
        self.smtp_address: tuple[str, int] | None = None
        self.policy_address: tuple[str, int] | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if found := LISTENING.search(line):
                self.smtp_address = (found[1], int(found[2]))
            if found := POLICY.search(line):
                self.policy_address = (found[1], int(found[2]))
            if "abusedesk: worker" in line:  # the last line of the announcement
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 30) -> None:
        assert self._ready.wait(timeout), "abusedesk serve did not start"
        assert self.process.poll() is None, "abusedesk serve exited:\n" + "".join(self.output)

    @property
    def address(self) -> tuple[str, int]:
        assert self.smtp_address is not None, "".join(self.output)
        return self.smtp_address

    def close(self) -> None:
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        [kib] = re.findall(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(kib) * 1024

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))


@contextmanager
def serve_process(
    database_url: str, data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[ServeProcess]:
    """Start `abusedesk serve ARGS` on `database_url` (SMTP on a free port); stop it after."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")}
    environment.update(
        {
            "ABUSEDESK_CONFIG": str(DEMO / "abusedesk.toml"),
            "ABUSEDESK_DATABASE_URL": database_url,
            "ABUSEDESK_DATA_DIR": str(data_dir),
            "ABUSEDESK_SMTP__PORT": "0",
            "ABUSEDESK_WEB__PORT": "0",
            "ABUSEDESK_POLICY__PORT": "0",
            "ABUSEDESK_RULES__PATH": str(DEFAULT_RULES),
            "ABUSEDESK_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "abusedesk", "serve", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ServeProcess(process)
    try:
        server.wait_ready()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        server.close()
