"""`abusedesk serve` as an operator runs it: signals to a node of any mix of roles."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.service_process import CONFIG, free_port


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "abusedesk serve exited while starting"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def _ask_policy(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as policy:
        policy.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@b.example\n\n")
        return policy.recv(1024)


def test_a_policy_only_node_survives_sighup_and_stops_cleanly(tmp_path: Path) -> None:
    # A reload is a SIGHUP sent to every node (systemd's ExecReload, config management);
    # a node that runs no rules has nothing to reload and must keep enforcing.
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")},
        "ABUSEDESK_DATA_DIR": str(tmp_path / "data"),
        "ABUSEDESK_POLICY__PORT": str(port),
        "ABUSEDESK_LOG_LEVEL": "WARNING",
    }
    roles = ["--no-smtp", "--no-imap", "--no-worker", "--no-web", "--policy"]
    process = subprocess.Popen(
        [sys.executable, "-m", "abusedesk", "--config", str(CONFIG), "serve", *roles],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert process.poll() is None, "the node died of SIGHUP"
        assert _ask_policy(port) == b"action=DUNNO\n\n"
        process.terminate()
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
