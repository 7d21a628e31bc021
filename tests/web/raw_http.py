"""A client that announces a large body, sends a little of it, and waits for the answer.

httpx would send the whole body before reading the answer; this sends only
the head and a few bytes, so a server that answers without reading the body
answers at once, and one that reads it first never does (within `timeout`).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

ANNOUNCED = 600 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int | None
    """None when no answer came within the timeout."""
    head: str
    seconds: float


def announce_body(
    url: str,
    path: str,
    headers: dict[str, str],
    *,
    length: int | None = ANNOUNCED,
    sent: bytes = b"{" + b" " * 4096,
    timeout: float = 5.0,
) -> Answer:
    """POST `path` announcing `length` bytes (chunked when None) but sending only `sent`."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is None:
        lines.append("Transfer-Encoding: chunked")
        payload = f"{len(sent):x}\r\n".encode() + sent + b"\r\n"
    else:
        lines.append(f"Content-Length: {length}")
        payload = sent
    began = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            return Answer(None, received.decode("latin-1"), time.monotonic() - began)
    head = received.decode("latin-1")
    status = int(head.split(" ", 2)[1]) if head.startswith("HTTP/") else None
    return Answer(status, head, time.monotonic() - began)


def stream_body(
    url: str, path: str, headers: dict[str, str], *, chunk: int = 4096, most: int = 64 * 1024 * 1024
) -> tuple[Answer, int]:
    """POST `path` chunked, with no length, until the server answers (or `most` bytes are sent).

    Returns the answer and how many bytes were sent before it came.
    """
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Transfer-Encoding: chunked")
    received = bytearray()
    answered = threading.Event()
    began = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:

        def read() -> None:
            try:
                while b"\r\n\r\n" not in received:
                    data = connection.recv(65536)
                    if not data:
                        break
                    received.extend(data)
            except OSError:
                pass
            answered.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sent = 0
        piece = f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n"
        try:
            while not answered.is_set() and sent < most:
                connection.sendall(piece)
                sent += chunk
        except OSError:  # the server closed the connection after answering
            pass
        answered.wait(10)
    head = bytes(received).decode("latin-1")
    status = int(head.split(" ", 2)[1]) if head.startswith("HTTP/") else None
    return Answer(status, head, time.monotonic() - began), sent
