"""Candidates: unproven complaints count for nobody until staff charge one by hand, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from tests.support.candidates import (
    FORGED_REASON,
    complaint_of,
    record_candidate,
    unproven,
)
from tests.support.reports import outsider_forgery

from abusedesk.access import Role
from abusedesk.access.audit import list_audit
from abusedesk.access.scope import load_actor
from abusedesk.access.users import add_user
from abusedesk.act.candidates import CandidateState, list_candidates
from abusedesk.act.charge import charge_candidate
from abusedesk.attribute.attribution import (
    Attribution,
    AttributionMethod,
    AttributionOutcome,
    Confidence,
)
from abusedesk.config import Settings
from abusedesk.decide import policy_engine
from abusedesk.decide.engine import PolicyEngine
from abusedesk.errors import NotFoundError, RefusedError, UsageError
from abusedesk.ingest.spool import IncomingReport, store_reports
from abusedesk.store.tables import (
    AuditEntry,
    Complaint,
    ComplaintVolume,
    Decision,
    Domain,
    Mailbox,
    Notice,
    RawReport,
    Suspension,
)
from abusedesk.store.types import ReportSource, utcnow

ALICE = "alice@shop.example"
NOTE = "relay1's own log has this queue id from alice"


@pytest.fixture
def admins(directory_engine: Engine) -> Engine:
    with Session(directory_engine) as session:
        add_user(session, "sam", Role.STAFF)
        add_user(session, "ann", Role.COMPANY_ADMIN, company="Acme Hosting Resellers")
        add_user(session, "dora", Role.DOMAIN_ADMIN, domain="shop.example")
        add_user(session, "hugo", Role.DOMAIN_ADMIN, domain="hikers.example")
        session.commit()
    return directory_engine


@pytest.fixture
def policy(settings: Settings) -> PolicyEngine:
    """The shipped rules with the notice templates: a suspension queues its AUP notice."""
    return policy_engine(settings)


def six_forgeries(engine: Engine, victim: str = ALICE) -> list[int]:
    return [
        record_candidate(engine, outsider_forgery(n, victim), unproven(victim))[0]
        for n in range(1, 7)
    ]


def charge(
    engine: Engine, username: str, report_id: int, policy: PolicyEngine, note: str = NOTE
) -> tuple[bool, tuple[str, ...]]:
    """Charge as `username` and commit; whether the mailbox still sends, and the actions."""
    with Session(engine) as session:
        actor = load_actor(session, username, "127.0.0.1")
        charged = charge_candidate(session, actor, report_id, note, policy=policy)
        session.commit()
    assert charged.mailbox == ALICE and charged.report_id == report_id
    return charged.can_send, tuple(str(a["action"]) for a in charged.actions)


def can_send(engine: Engine, address: str = ALICE) -> bool:
    with Session(engine) as session:
        found = session.execute(
            select(col(Mailbox.can_send)).where(col(Mailbox.address) == address)
        ).scalar_one()
    return bool(found)


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def counted(engine: Engine) -> int:
    with Session(engine) as session:
        total = session.execute(select(func.sum(col(ComplaintVolume.complaints)))).scalar()
    return int(total or 0)


def raw_report(engine: Engine, report_id: int) -> RawReport:
    with Session(engine) as session:
        found = session.get(RawReport, report_id)
        assert found is not None
        return found


def test_six_candidates_count_for_nobody_until_staff_charge_them(
    admins: Engine, policy: PolicyEngine
) -> None:
    reports = six_forgeries(admins)
    assert can_send(admins) and counted(admins) == 0
    assert count(admins, Decision) == 0 and count(admins, Notice) == 0
    with Session(admins) as session:
        listed = list_candidates(session)
    assert [view.report_id for view in listed] == reports[::-1]  # newest first
    assert {(v.candidate, v.hosted, v.domain, v.charged_to) for v in listed} == {
        (ALICE, True, "shop.example", None)
    }
    assert {v.reason for v in listed} == {FORGED_REASON}

    for number, report_id in enumerate(reports[:5], start=1):
        assert charge(admins, "sam", report_id, policy) == (True, ())
        assert counted(admins) == number
    # The sixth complaint charged by hand crosses the limit like a sixth proven one.
    still_sends, actions = charge(admins, "sam", reports[5], policy)
    assert not still_sends and actions == ("suspend", "notify")
    assert not can_send(admins)
    with Session(admins) as session:
        suspension = session.execute(select(Suspension)).scalar_one()
        ids = session.execute(
            select(col(Complaint.id)).where(col(Complaint.raw_report_id).in_(reports))
        ).scalars()
        assert suspension.rule == "soft-suspend" and sorted(suspension.complaint_ids) == sorted(ids)
        notice = session.execute(select(Notice)).scalar_one()
        assert notice.recipient == "abuse@acme-resellers.example"
    assert count(admins, Decision) == 6 + 1  # the suspension is decided in turn

    complaint = complaint_of(admins, reports[0])
    assert complaint.attribution_method == AttributionMethod.STAFF.value == "staff"
    assert complaint.attribution_evidence == (
        f"charged by hand by sam (staff) from the candidate {ALICE}. The report did not prove "
        f"it: {FORGED_REASON}. What named the candidate: a hop by "
        f"relay1.out.hostingplatform.example names (Authenticated sender: {ALICE}), below a hop "
        f"only attacker.example wrote. Why it was charged: {NOTE}"
    )
    assert complaint.candidate_mailbox == ALICE  # the candidate it was charged from stays
    raw = raw_report(admins, reports[0])
    assert (raw.status, raw.reason) == ("processed", f"charged by hand to {ALICE} by sam")
    with Session(admins) as session:
        assert list_candidates(session) == []
        charged = list_candidates(session, state=CandidateState.CHARGED)
        assert {v.charged_to for v in charged} == {ALICE} and len(charged) == 6

        entries = list_audit(session, action="complaint.charge")
        assert [(e.actor, e.target_type, e.target, e.note) for e in entries] == [
            ("sam", "mailbox", ALICE, NOTE)
        ] * 6
        last = entries[0].detail
        assert last["report_id"] == reports[5] and last["candidate"] == ALICE
        assert last["unattributed_reason"] == FORGED_REASON
        assert last["quarantine_reason"] == f"unattributed complaint: {FORGED_REASON}"
        assert last["actions"] == ["suspend: done", "notify: queued"]
        assert len(last["decision_ids"]) == 2  # the complaint's, and the suspension's
        # Now a charge, it is the reseller's to see: Acme's admins see the entries, others not.
        ann = load_actor(session, "ann", "cli")
        hugo = load_actor(session, "hugo", "cli")
        assert len(list_audit(session, action="complaint.charge", visible_to=ann)) == 6
        assert list_audit(session, action="complaint.charge", visible_to=hugo) == []


def refused(engine: Engine, username: str, report_id: int, note: str = NOTE) -> str:
    """Charging is refused: the message, with nothing changed and nothing audited."""
    before = count(engine, AuditEntry), counted(engine)
    with Session(engine) as session:
        actor = load_actor(session, username, "cli")
        with pytest.raises((RefusedError, UsageError)) as raised:
            charge_candidate(session, actor, report_id, note)
        session.rollback()
    assert (count(engine, AuditEntry), counted(engine)) == before
    return str(raised.value)


def test_only_staff_charge_candidates(admins: Engine) -> None:
    [report_id, *_] = six_forgeries(admins)
    for username, role in (("ann", "company-admin"), ("dora", "domain-admin")):
        assert refused(admins, username, report_id) == (
            f"only platform staff may charge a candidate by hand: {username} is a {role}"
        )
    assert complaint_of(admins, report_id).mailbox_id is None
    with Session(admins) as session:
        with pytest.raises(RefusedError, match="only platform staff may review candidates"):
            list_candidates(session, actor=load_actor(session, "dora", "cli"))


def test_a_complaint_is_charged_once(admins: Engine, policy: PolicyEngine) -> None:
    [report_id, *_] = six_forgeries(admins)
    charge(admins, "sam", report_id, policy)
    assert refused(admins, "sam", report_id) == (
        f"report {report_id} is already charged to {ALICE} (staff): there is nothing left to charge"
    )
    proven, _ = record_candidate(
        admins,
        outsider_forgery(7),
        AttributionOutcome(
            Attribution(ALICE, AttributionMethod.QUEUE_ID, "our records", Confidence.HIGH)
        ),
    )
    assert refused(admins, "sam", proven) == (
        f"report {proven} is already charged to {ALICE} (queue-id): there is nothing left to charge"
    )


def test_a_candidate_that_is_not_hosted_is_not_charged(admins: Engine) -> None:
    stranger = "someone@elsewhere.example"
    report_id, _ = record_candidate(admins, outsider_forgery(1, stranger), unproven(stranger))
    with Session(admins) as session:
        [view] = list_candidates(session)
    assert (view.candidate, view.hosted, view.domain) == (stranger, False, None)
    assert refused(admins, "sam", report_id) == (
        f"{stranger} is not a mailbox on our platform: there is nobody to charge for "
        f"report {report_id}"
    )


def test_a_candidate_hosted_since_it_was_recorded_can_be_charged(
    admins: Engine, policy: PolicyEngine
) -> None:
    late = "late@shop.example"
    report_id, _ = record_candidate(admins, outsider_forgery(1, late), unproven(late))
    assert complaint_of(admins, report_id).candidate_mailbox_id is None
    with Session(admins) as session:
        shop = session.execute(
            select(Domain).where(col(Domain.name) == "shop.example")
        ).scalar_one()
        assert shop.id is not None
        session.add(Mailbox(address=late, domain_id=shop.id, created_at=utcnow()))
        session.commit()
        [view] = list_candidates(session)
        assert view.hosted
        charged = charge_candidate(
            session, load_actor(session, "sam", "cli"), report_id, NOTE, policy=policy
        )
        session.commit()
    assert charged.mailbox == late
    complaint = complaint_of(admins, report_id)
    assert complaint.mailbox_id == complaint.candidate_mailbox_id is not None


def test_what_cannot_be_charged_says_why(admins: Engine, policy: PolicyEngine) -> None:
    nameless, _ = record_candidate(
        admins, outsider_forgery(1), AttributionOutcome(None, "no hop from our relays")
    )
    assert refused(admins, "sam", nameless) == (
        f"report {nameless} names no candidate to charge (no hop from our relays)"
    )
    [not_a_report] = store_reports(
        admins,
        [
            IncomingReport(
                raw=b"Subject: hello\r\n\r\nhi\r\n",
                source=ReportSource.FILE,
                trusted=True,
                trust_reason="test",
            )
        ],
    )
    assert refused(admins, "sam", not_a_report) == (
        f"report {not_a_report} recorded no complaint: there is nothing to charge"
    )
    [report_id, queued, deleted_one, *_] = six_forgeries(admins)
    assert refused(admins, "sam", report_id, note="  ") == (
        "a note is required: say why the candidate is charged"
    )
    with Session(admins) as session:
        raw = session.get(RawReport, queued)
        assert raw is not None
        raw.status = "pending"  # queued to be processed again
        session.add(raw)
        session.commit()
    assert refused(admins, "sam", queued) == (
        f"report {queued} is queued to be processed again: charge it once processing has settled it"
    )
    with Session(admins) as session:
        alice = session.execute(select(Mailbox).where(col(Mailbox.address) == ALICE)).scalar_one()
        alice.deleted_at = utcnow()
        session.add(alice)
        session.commit()
    assert refused(admins, "sam", deleted_one) == (
        f"{ALICE} is deleted: report {deleted_one} cannot be charged to it"
    )
    with Session(admins) as session, pytest.raises(NotFoundError, match="no report 999999"):
        charge_candidate(session, load_actor(session, "sam", "cli"), 999999, NOTE)


def test_candidates_are_listed_by_state_and_address(admins: Engine, policy: PolicyEngine) -> None:
    alices = [record_candidate(admins, outsider_forgery(n), unproven(ALICE))[0] for n in (1, 2)]
    bobs = [
        record_candidate(
            admins, outsider_forgery(n, "bob@shop.example"), unproven("BOB@shop.example")
        )[0]
        for n in (10, 11)
    ]
    charge(admins, "sam", alices[0], policy)
    with Session(admins) as session:

        def listed(
            state: CandidateState = CandidateState.OPEN,
            mailbox: str | None = None,
            offset: int = 0,
            limit: int = 50,
        ) -> list[int]:
            views = list_candidates(
                session, state=state, mailbox=mailbox, offset=offset, limit=limit
            )
            return [view.report_id for view in views]

        assert listed(state=CandidateState.ALL) == [bobs[1], bobs[0], alices[1], alices[0]]
        assert listed() == [bobs[1], bobs[0], alices[1]]
        assert listed(state=CandidateState.CHARGED) == [alices[0]]
        assert listed(mailbox=" Bob@Shop.example ") == [bobs[1], bobs[0]]
        assert listed(state=CandidateState.ALL, offset=1, limit=2) == [bobs[0], alices[1]]
