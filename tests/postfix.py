"""A real Postfix relay on a loopback port, asking a policy service, relaying to an aiosmtpd sink.

`scripts/setup` installs Postfix; the system instance stays unused. Each relay
has a directory of its own under /tmp (its queue is worked on by the `postfix`
user, which cannot enter pytest's private base directory), with a `main.cf`
and a `master.cf` of its own, and runs in the foreground (`postfix -c DIR
start-fg`) with its log on stdout. It calls itself our outbound relay
(`relay1.out.hostingplatform.example`, as in the demo configuration), so the
Received header it writes is the one attribution trusts. The sink plays the
provider: it keeps every message the relay delivers.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.dovecot import free_port

RELAY_HOSTNAME = "relay1.out.hostingplatform.example"

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = {hostname}
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
alias_maps =
alias_database =
maillog_file = /dev/stdout
# Pick the queue up at once: the test waits for the sink, not for a queue run.
queue_run_delay = 1s
minimal_backoff_time = 1s
{sasl}
smtpd_recipient_restrictions =
    check_policy_service {{ inet:{policy}, timeout=10s{fail_open} }},
    permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
# Fail closed when the policy service cannot be asked (the default, spelt out).
smtpd_policy_service_default_action = 451 4.3.5 Server configuration problem
smtpd_end_of_data_restrictions =
    check_policy_service {{ inet:{policy}, timeout=10s{fail_open} }}
"""

SASL = """\
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{port}
smtpd_sasl_security_options = noanonymous
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


@dataclass
class Sink:
    """What the relay delivered: (envelope sender, recipients, bytes) per message."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.arrived:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
            self.arrived.notify_all()
        return "250 2.0.0 accepted"

    def wait_for(self, count: int, timeout: float = 30) -> list[tuple[str, list[str], bytes]]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"the sink got {len(self.messages)} messages, not {count}")
            return list(self.messages)


class Postfix:
    def __init__(
        self,
        root: Path,
        policy: tuple[str, int],
        sink_port: int,
        sasl_port: int | None,
        fail_open: bool = False,
        extra_main_cf: str = "",
    ) -> None:
        self.root = root
        self.port = free_port()
        self.config = root / "conf"
        self.config.mkdir()
        (root / "queue").mkdir()
        (root / "data").mkdir()
        shutil.chown(root / "data", "postfix")
        (self.config / "main.cf").write_text(
            MAIN_CF.format(
                root=root,
                hostname=RELAY_HOSTNAME,
                sink_port=sink_port,
                policy=f"{policy[0]}:{policy[1]}",
                sasl=SASL.format(port=sasl_port) if sasl_port else "",
                fail_open=", default_action=DUNNO" if fail_open else "",
            )
            + extra_main_cf
        )
        (self.config / "master.cf").write_text(MASTER_CF.format(port=self.port))
        self._log = (root / "postfix.log").open("wb")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["postfix", "-c", str(self.config), "start-fg"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"postfix did not start:\n{self.log()}")
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(200).startswith(b"220"):
                        return
            time.sleep(0.05)
        raise RuntimeError(f"postfix did not start:\n{self.log()}")

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.config), "stop"], capture_output=True)
        if self._process is not None:
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return (self.root / "postfix.log").read_text(errors="replace")


def postfix_installed() -> bool:
    return shutil.which("postfix") is not None


@contextmanager
def running_postfix(
    policy: tuple[str, int],
    *,
    sasl_port: int | None = None,
    fail_open: bool = False,
    extra_main_cf: str = "",
) -> Iterator[tuple[Postfix, Sink]]:
    """A relay asking `policy` (and authenticating through Dovecot at `sasl_port`), and its sink.

    With `fail_open`, a policy service that cannot be asked means DUNNO instead of 451;
    `extra_main_cf` is appended to main.cf (later lines win).
    """
    if not postfix_installed():
        raise RuntimeError("postfix is not installed: run scripts/setup")
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    root = Path(tempfile.mkdtemp(prefix="abusedesk-postfix-"))
    root.chmod(0o755)
    relay = Postfix(root, policy, controller.port, sasl_port, fail_open, extra_main_cf)
    try:
        relay.start()
        yield relay, sink
    finally:
        try:
            relay.stop()
        finally:
            controller.stop()
            shutil.rmtree(root, ignore_errors=True)
