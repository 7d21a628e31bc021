"""`attribute_report`: which of our mailboxes sent a reported message, or why we cannot tell.

The order of trust (docs/attribution.md has the threat model):

1. The provider must provably have received the message from one of our
   relay addresses (`passage`, or `sorted_chain` when the provider sorted the
   headers): its report's Source-IP says so, or its own hops lead down to
   that receipt. Without that, nothing in the message is ours: the complaint
   is not charged, and the mailbox the unproven hops name is kept as a
   *candidate* for a person to review.
2. Inside that proof, our own records name the sender: the queue id our
   policy service saw submitted (QUEUE_ID), then the `(Authenticated sender:)`
   our relay wrote in its hop (RELAY_RECEIVED). Where our records cover the
   hop's time, an authenticated hop whose queue id they never saw is forged.
   If the two disagree, something is wrong and nobody is charged.
3. Only when neither names anyone, the headers our relay or filter adds
   (AUTHENTICATED_HEADER, then AUTH_RESULTS) are read, at MEDIUM at best: the
   client could have written a copy before submitting, so several differing
   copies mean nobody is charged. When a stronger record exists, a header
   that contradicts it is reported in the evidence and otherwise ignored, so
   a sender cannot escape attribution by adding one.

From:, Return-Path, Original-Mail-From and the envelope are never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from abusedesk.attribute.attribution import (
    Attribution,
    AttributionMethod,
    AttributionOutcome,
    Candidate,
    Confidence,
    MailboxDirectory,
)
from abusedesk.attribute.claims import (
    auth_results_claims,
    authenticated_header_claims,
    mailbox_in,
)
from abusedesk.attribute.hops import describe_hop
from abusedesk.attribute.passage import Rejection, RelayPassage, find_passage_in_order, weakest
from abusedesk.attribute.relays import OurRelays
from abusedesk.attribute.sorted_chain import find_passage_unordered, order_lost_because
from abusedesk.config import AttributionSettings
from abusedesk.parse.report import OriginalMessage, ReceivedHop, Report

_STRONG = (AttributionMethod.QUEUE_ID, AttributionMethod.RELAY_RECEIVED)


@dataclass(frozen=True, slots=True)
class _Finding:
    method: AttributionMethod
    mailbox: str
    evidence: str


def attribute_report(
    report: Report, settings: AttributionSettings, directory: MailboxDirectory
) -> AttributionOutcome:
    """Charge the report to the hosted mailbox our own relays say sent it, or say why not."""
    original = report.original
    if original is None:
        return _unattributed(
            "the report carries no copy of the original message, so there is no hop from "
            "our relays to check"
        )
    relays = OurRelays.from_settings(settings)
    if not relays.configured:
        return _unattributed(
            "attribution.relays must list our relays' hostnames and their addresses; "
            "without both no hop can be trusted"
        )
    if not original.received:
        return _unattributed("the original message has no Received headers")
    passage = find_passage(report, original, relays)
    if isinstance(passage, Rejection):
        return _unattributed(passage.reason, unproven_candidate(original, settings, directory))
    strong = _strong_findings(passage, directory)
    if isinstance(strong, Rejection):
        return _unattributed(strong.reason, unproven_candidate(original, settings, directory))
    weak = _header_findings(original, settings)
    return _choose(passage, strong, weak, directory)


def find_passage(
    report: Report, original: OriginalMessage, relays: OurRelays
) -> RelayPassage | Rejection:
    """Prove the passage through our relays, by position unless the order was lost."""
    why = order_lost_because([name for name, _ in original.headers], original.received)
    if why is not None:
        return find_passage_unordered(original.received, relays, report.source_ip, why)
    return find_passage_in_order(original.received, relays, report.source_ip)


def unproven_candidate(
    original: OriginalMessage, settings: AttributionSettings, directory: MailboxDirectory
) -> Candidate | None:
    """The mailbox the unproven chain points at, for review: never a charge by itself.

    The topmost hop claiming to be our relay's is asked first (a client's
    forgeries sit below the real one): our record of its queue id, then its
    authenticated sender; then the headers our relay adds.
    """
    relays = OurRelays.from_settings(settings)
    for hop in original.received:
        if not relays.wrote(hop):
            continue
        if hop.queue_id and (user := directory.sender_for_queue_id(hop.queue_id)):
            return Candidate(
                mailbox_in(user) or user.strip().casefold(),
                f"our policy service recorded {user} submitting queue id {hop.queue_id}, "
                f"which an unproven hop names ({describe_hop(hop)})",
            )
        if sender := mailbox_in(hop.authenticated_sender):
            return Candidate(
                sender,
                f"an unproven hop ({describe_hop(hop)}) says (Authenticated sender: "
                f"{hop.authenticated_sender}); nothing shows our relay wrote it",
            )
    named = authenticated_header_claims(original, settings.authenticated_header)
    if named:
        return Candidate(named[0], f"{settings.authenticated_header}: {named[0]}")
    return None


def _strong_findings(
    passage: RelayPassage, directory: MailboxDirectory
) -> list[_Finding] | Rejection:
    findings: list[_Finding] = []
    forged = _unrecorded_submission(passage, directory)
    if forged is not None:
        return forged
    # The submission hop is where the client authenticated and where our
    # policy service saw the queue id, so it is asked first.
    for hop in reversed(passage.our_hops):
        if hop.queue_id and (user := directory.sender_for_queue_id(hop.queue_id)):
            findings.append(
                _Finding(
                    AttributionMethod.QUEUE_ID,
                    mailbox_in(user) or user.strip().casefold(),
                    f"our policy service recorded {user} submitting queue id {hop.queue_id} "
                    f"on {hop.by_host}",
                )
            )
            break
    for hop in reversed(passage.our_hops):
        sender = mailbox_in(hop.authenticated_sender)
        if sender:
            findings.append(
                _Finding(
                    AttributionMethod.RELAY_RECEIVED,
                    sender,
                    f"our relay {hop.by_host} wrote (Authenticated sender: "
                    f"{hop.authenticated_sender}) with queue id {hop.queue_id or '(none)'}",
                )
            )
    named = sorted({finding.mailbox for finding in findings})
    if len(named) > 1:
        return Rejection(
            "our own records disagree about the sender ("
            + "; ".join(finding.evidence for finding in findings)
            + "), so nobody is charged"
        )
    return findings


def _unrecorded_submission(passage: RelayPassage, directory: MailboxDirectory) -> Rejection | None:
    """A refusal when an authenticated hop of ours carries a queue id we never recorded.

    The policy service records every authenticated submission's queue id; while
    its records cover the hop's time, a hop naming a sender with an unknown
    queue id was not written by our relay (docs/attribution.md says how long the
    records must be kept for this to hold).
    """
    for hop in passage.our_hops:
        if not _authenticated(hop) or not hop.queue_id:
            continue
        at = hop.date or (passage.provider_hop.date if passage.provider_hop else None)
        first, last = directory.queue_record_span()
        if at is None or first is None or last is None or not first <= at <= last:
            continue
        if directory.sender_for_queue_id(hop.queue_id) is None:
            return Rejection(
                f"our relay's hop ({describe_hop(hop)}) names queue id {hop.queue_id}, which "
                f"our policy service never recorded although its records cover "
                f"{at:%Y-%m-%d %H:%M} UTC: our relay did not write that hop, so nobody is "
                f"charged"
            )
    return None


def _authenticated(hop: ReceivedHop) -> bool:
    """Postfix names the protocol of an authenticated session ESMTPA / ESMTPSA (UTF8…)."""
    protocol = (hop.with_protocol or "").upper()
    return (
        hop.authenticated_sender is not None
        or protocol.endswith("SMTPA")
        or (protocol.endswith("SMTPSA"))
    )


def _header_findings(original: OriginalMessage, settings: AttributionSettings) -> list[_Finding]:
    header = settings.authenticated_header
    findings = [
        _Finding(AttributionMethod.AUTHENTICATED_HEADER, mailbox, f"{header}: {mailbox}")
        for mailbox in authenticated_header_claims(original, header)
    ]
    findings += [
        _Finding(
            AttributionMethod.AUTH_RESULTS,
            mailbox,
            f"Authentication-Results from our filter says smtp.auth={mailbox}",
        )
        for mailbox in auth_results_claims(original, settings.authserv_ids)
    ]
    return findings


def _choose(
    passage: RelayPassage,
    strong: list[_Finding],
    weak: list[_Finding],
    directory: MailboxDirectory,
) -> AttributionOutcome:
    submission = passage.submission_hop
    if strong:
        chosen = strong[0]
        confidence = passage.confidence
    elif not weak:
        return _unattributed(
            f"the message passed our relay {passage.relay} (queue id "
            f"{submission.queue_id or 'not shown'}), but neither our relay's hop, our policy "
            f"service's records nor a header we trust names the sender"
        )
    elif len({finding.mailbox for finding in weak}) > 1:
        return _unattributed(
            "the message passed our relay, but the sender headers disagree ("
            + "; ".join(finding.evidence for finding in weak)
            + "); a client can write such headers itself, so nobody is charged"
        )
    else:
        chosen = weak[0]
        confidence = weakest(passage.confidence, Confidence.MEDIUM)

    if not directory.is_hosted(chosen.mailbox):
        return _unattributed(
            f"sender {chosen.mailbox} is not hosted here (seen: {chosen.evidence})",
            Candidate(chosen.mailbox, chosen.evidence),
        )
    notes = [chosen.evidence]
    notes += [
        f.evidence for f in (*strong, *weak) if f is not chosen and f.mailbox == chosen.mailbox
    ]
    notes += [
        f"{f.evidence} contradicts this and was ignored, as a client can write it"
        for f in weak
        if f.mailbox != chosen.mailbox
    ]
    notes += passage.notes
    return AttributionOutcome(
        Attribution(
            mailbox=chosen.mailbox,
            method=chosen.method,
            evidence="; ".join(notes),
            confidence=confidence,
            queue_id=submission.queue_id,
            relay=passage.relay,
        )
    )


def _unattributed(reason: str, candidate: Candidate | None = None) -> AttributionOutcome:
    return AttributionOutcome(attribution=None, reason=reason, candidate=candidate)
