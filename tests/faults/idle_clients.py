"""Open thousands of idle TCP connections to a local server, from many loopback addresses.

Connections are opened in steps no bigger than the server's listen backlog,
each step waiting until the server has taken them off its accept queue: a
SYN that finds the queue full is dropped and retried a second later, which
would make 10,000 connections take minutes. Source addresses are spread over
127.1.0.0/16 (all of 127/8 is loopback on Linux) so that per-peer limits do not
turn the flood away before it reaches the server's global bounds.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time

STEP = 64


def accept_queue(port: int) -> int | None:
    """Connections waiting in the listen queue of 127.0.0.1:`port` (None: no listener).

    `ss` asks the kernel for listening sockets only; /proc/net/tcp would list every
    one of the thousands of connections at each step.
    """
    listed = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(listed[1]) if listed else None


def source_address(number: int, per_address: int) -> str:
    index = number // per_address
    return f"127.1.{index // 250}.{index % 250 + 1}"


def open_idle(port: int, count: int, per_address: int = 10) -> list[socket.socket]:
    """`count` connections that never send a byte; the caller closes them."""
    sockets: list[socket.socket] = []
    try:
        for number in range(count):
            connection = socket.socket()
            connection.bind((source_address(number, per_address), 0))
            connection.settimeout(10)
            connection.connect(("127.0.0.1", port))
            sockets.append(connection)
            if len(sockets) % STEP == 0:
                _wait_for_accepts(port)
        _wait_for_accepts(port)
    except BaseException:
        close_all(sockets)
        raise
    return sockets


def _wait_for_accepts(port: int) -> None:
    deadline = time.monotonic() + 10
    while (accept_queue(port) or 0) > 0:
        assert time.monotonic() < deadline, "the server stopped accepting connections"
        time.sleep(0.001)


def close_all(sockets: list[socket.socket]) -> None:
    for connection in sockets:
        with contextlib.suppress(OSError):
            connection.close()


def closed_by_server(connection: socket.socket) -> bool:
    """Whether the server has closed `connection` (what it sent before is read and dropped)."""
    connection.setblocking(False)
    try:
        while True:
            data = connection.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        connection.setblocking(True)
