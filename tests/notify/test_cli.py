"""`abusedesk notices …`: list the outbox, show a notice as read, send due ones once."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.notify.compose import NoticeComposer
from abusedesk.store.types import utcnow
from tests.conftest import run_cli
from tests.decide.conftest import DEFAULT_RULES, add_complaint, mailbox_id
from tests.notify.conftest import FROM, PLATFORM, notice_settings
from tests.support.smtp_sink import SmtpSink


def test_notices_list_show_and_send(
    directory_engine: Engine, database_url: str, sink: SmtpSink
) -> None:
    policy = PolicyEngine(
        load_rules(DEFAULT_RULES), NoticeComposer.from_settings(notice_settings(sink.port))
    )
    start = utcnow() - timedelta(hours=2)
    with Session(directory_engine) as session:
        for address in ("alice@shop.example", "lonely@orphan.example"):
            for minute in range(6):
                complaint = add_complaint(
                    session,
                    mailbox_id(directory_engine, address),
                    start + timedelta(minutes=minute),
                )
                assert complaint.id is not None
                decide_after_complaint(session, complaint.id, policy)
        session.commit()
    env = {
        "ABUSEDESK_RULES__PATH": str(DEFAULT_RULES),
        "ABUSEDESK_NOTICES__SMARTHOST_PORT": str(sink.port),
        "ABUSEDESK_NOTICES__FROM_ADDRESS": FROM,
        "ABUSEDESK_NOTICES__PLATFORM_ABUSE_ADDRESS": PLATFORM,
    }

    def cli(*args: str) -> tuple[int, str, str]:
        done = run_cli(*args, database_url=database_url, env=env)
        return done.returncode, done.stdout, done.stderr

    code, out, _ = cli("notices", "list", "--status", "queued", "--json")
    listed = json.loads(out)
    assert [(n["recipient"], n["fallback"], n["status"]) for n in listed] == [
        (PLATFORM, True, "queued"),
        ("abuse@acme-resellers.example", False, "queued"),
    ]
    code, out, _ = cli("notices", "show", str(listed[0]["id"]))
    assert code == 0
    assert f"To: {PLATFORM}" in out and "X-Abusedesk-Fallback: no valid abuse contact" in out
    assert "Subject: [No abuse contact on file for Nocontact Ltd] Sending suspended" in out
    assert "----- text/plain -----" in out and "----- text/html -----" in out
    assert "Nocontact Ltd has no valid abuse contact on file." in out
    code, _, err = cli("notices", "show", "9999")
    assert (code, err) == (1, "abusedesk: no notice 9999\n")

    code, out, _ = cli("notices", "send")
    assert (code, out) == (0, "notices: 2 sent, 0 to retry later, 0 failed\n")
    code, out, _ = cli("notices", "send")
    assert (code, out) == (0, "notices: 0 sent, 0 to retry later, 0 failed\n")
    assert len(sink.received) == 2
    code, out, _ = cli("notices", "list", "--status", "sent", "--json")
    assert sorted(n["message_id"] for n in json.loads(out)) == sorted(
        r.message["Message-ID"] for r in sink.received
    )
