"""A client that speaks the policy delegation protocol the way Postfix's smtpd does."""

from __future__ import annotations

import socket

# What Postfix 3.7 sends at RCPT, trimmed of nothing: the server must skip what it does not read.
RCPT_TEMPLATE = {
    "request": "smtpd_access_policy",
    "protocol_state": "RCPT",
    "protocol_name": "ESMTP",
    "client_address": "192.0.2.10",
    "client_name": "client.example",
    "client_port": "52044",
    "reverse_client_name": "client.example",
    "server_address": "127.0.0.1",
    "server_port": "587",
    "helo_name": "laptop",
    "sender": "",
    "recipient": "friend@elsewhere.example",
    "recipient_count": "0",
    "queue_id": "",
    "instance": "1b2c.6751f0a1.7e0a2.0",
    "size": "0",
    "etrn_domain": "",
    "stress": "",
    "sasl_method": "",
    "sasl_username": "",
    "sasl_sender": "",
    "ccert_subject": "",
    "ccert_issuer": "",
    "ccert_fingerprint": "",
    "ccert_pubkey_fingerprint": "",
    "encryption_protocol": "TLSv1.3",
    "encryption_cipher": "TLS_AES_256_GCM_SHA384",
    "encryption_keysize": "256",
    "policy_context": "",
    "compatibility_level": "3.6",
    "mail_version": "3.7.11",
}


def request(**attributes: str) -> bytes:
    """One request block: the RCPT template with `attributes` replaced (`_` stands for `-`)."""
    values = {**RCPT_TEMPLATE, **attributes}
    return "".join(f"{name}={value}\n" for name, value in values.items()).encode() + b"\n"


def read_answers(sock: socket.socket, count: int, timeout: float = 5.0) -> list[str]:
    """The next `count` answers (the `action=` values); fewer if the server closed."""
    sock.settimeout(timeout)
    chunks: list[bytes] = []
    seen = 0
    tail = b""
    while seen < count:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        seen += (tail + chunk).count(b"\n\n")
        tail = chunk[-1:]
    blocks = [block for block in b"".join(chunks).split(b"\n\n") if block]
    answers = []
    for block in blocks[:count]:
        assert block.startswith(b"action="), block
        answers.append(block[len(b"action=") :].decode())
    return answers


def closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True when the server closed the connection (nothing more to read)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
