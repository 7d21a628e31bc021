"""A real Dovecot IMAP server on a loopback port, with its own config, mail and logs.

The suite installs nothing: `scripts/setup` installs `dovecot-imapd`. Each
server lives in a directory of its own under /tmp (not pytest's tmp_path: the
mail processes run as the `dovecot` user and must be able to reach the Maildir,
and pytest's base directory is private to root). Dovecot refuses to run its
login processes as root, hence `dovenull`/`dovecot` and a Maildir they own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from abusedesk.config import ImapAccount

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
{cleartext}
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
{capability}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{auth_service}
"""

# Postfix authenticates SMTP clients through Dovecot's auth service (smtpd_sasl_type = dovecot).
AUTH_SERVICE = """\
service auth {{
  inet_listener sasl {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""


USERS = 100


def dovecot_version() -> tuple[int, int]:
    if shutil.which("dovecot") is None:
        raise RuntimeError(
            "dovecot is not installed: run scripts/setup (it installs dovecot-imapd)"
        )
    output = subprocess.run(
        ["dovecot", "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.match(r"(\d+)\.(\d+)", output)
    if match is None:
        raise RuntimeError(f"cannot read the Dovecot version from {output!r}")
    return int(match[1]), int(match[2])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class MailUser:
    """One mail user of a running Dovecot: what the poller polls and what a test inspects."""

    server: Dovecot
    username: str
    password: str

    def account(self, **overrides: object) -> ImapAccount:
        """The poller's view of this mailbox: plain IMAP on loopback."""
        fields: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.server.port,
            "tls": False,
            "username": self.username,
            "password": self.password,
        }
        fields.update(overrides)
        return ImapAccount.model_validate(fields)

    @contextmanager
    def client(self) -> Iterator[IMAPClient]:
        """A session of its own, independent of the poller's: what a provider or a test sees."""
        client = IMAPClient("127.0.0.1", port=self.server.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        try:
            yield client
        finally:
            client.logout()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def messages(self, folder: str) -> list[bytes]:
        """The bytes of every message in `folder`, \\Deleted ones too (none when it is missing)."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as client:
            return int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate_folder(self, folder: str) -> None:
        """Delete and create `folder` again: same name, new UIDVALIDITY, UIDs from 1."""
        with self.client() as client:
            client.delete_folder(folder)
            client.create_folder(folder)

    def kick(self) -> None:
        """Drop every IMAP connection of this user, as a server or a NAT box might."""
        subprocess.run(
            ["doveadm", "-c", str(self.server.config), "kick", self.username],
            check=True,
            capture_output=True,
        )


class Dovecot:
    """One Dovecot instance; `start`, `stop` and `restart` it at will, add users while it runs."""

    def __init__(
        self,
        root: Path,
        capability: str | None = None,
        sasl_users: Mapping[str, str] | None = None,
    ) -> None:
        """`sasl_users` (name → password) also opens the auth service to SMTP servers."""
        self.root = root
        self.port = free_port()
        self.auth_port = free_port() if sasl_users else None
        major, minor = dovecot_version()
        if (major, minor) >= (2, 4):
            raise RuntimeError(
                f"Dovecot {major}.{minor} uses a new config syntax; tests/dovecot.py writes 2.3's"
            )
        self._user_numbers = iter(range(1, USERS + 1))
        (root / "mail").mkdir()
        shutil.chown(root / "mail", "dovecot", "dovecot")
        # Every user exists from the start: Dovecot looks at a changed passwd-file at
        # most once a second, too late for a test that adds a user and logs in at once.
        (root / "passwd").write_text(
            "".join(f"{_user_name(n)}:{{PLAIN}}{_password(n)}\n" for n in range(1, USERS + 1))
            + "".join(
                f"{name}:{{PLAIN}}{password}\n" for name, password in (sasl_users or {}).items()
            )
        )
        self.config = root / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(
                root=root,
                port=self.port,
                cleartext="disable_plaintext_auth = no",
                # Dovecot announces these after login; replacing the list is how a test
                # gets a server without MOVE or IDLE.
                capability=f"imap_capability = {capability}" if capability else "",
                auth_service=AUTH_SERVICE.format(port=self.auth_port) if self.auth_port else "",
            )
        )

    def add_user(self) -> MailUser:
        """A user no test has used yet, with an empty Maildir (Dovecot creates it at login)."""
        number = next(self._user_numbers, None)
        if number is None:
            raise RuntimeError(f"all {USERS} users of this Dovecot are taken; raise USERS")
        return MailUser(self, _user_name(number), _password(number))

    @property
    def pid_file(self) -> Path:
        return self.root / "run" / "master.pid"

    def start(self) -> None:
        # The master daemonizes and keeps its inherited stdio: pipes would never reach EOF.
        with (self.root / "startup.log").open("ab") as startup_log:
            started = subprocess.run(
                ["dovecot", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=startup_log,
                stderr=startup_log,
                check=False,
            )
        if started.returncode != 0:
            raise RuntimeError(f"dovecot refused to start:\n{self.log()}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start; its log:\n{self.log()}")

    def stop(self) -> None:
        """Stop the master and every process it started, open IMAP sessions included.

        The master leaves a session's `imap` process serving its client after it
        exits, whatever `shutdown_clients` says; a restart is meant to drop them.
        """
        if not self.pid_file.exists():
            return
        master = int(self.pid_file.read_text().strip())
        processes = [master, *_children(master)]
        for pid in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in processes):
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot (pid {master}) did not stop")
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        paths = [self.root / "startup.log", self.root / "dovecot.log"]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())


def _user_name(number: int) -> str:
    return f"fbl{number}@abusedesk.example"


def _password(number: int) -> str:
    return f"feed-secret-{number}"


def _children(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                children.append(int(stat.parent.name))
    return children


def _running(pid: int) -> bool:
    """Whether `pid` still runs; a zombie does not (the daemonized master is not our child)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def running_dovecot(
    capability: str | None = None, sasl_users: Mapping[str, str] | None = None
) -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="abusedesk-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root, capability, sasl_users)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
