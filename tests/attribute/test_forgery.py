"""The forgery suite: whenever the provider did not receive the message from one of our
relay addresses, no mailbox is charged — whatever the chain below its receipt says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.attribute.conftest import FIXTURES, HostedDirectory
from tests.attribute.forgery import (
    ATTACKER,
    RELAY1,
    RELAY_IPS,
    SETTINGS,
    VICTIM,
    Forgery,
    customer_submission,
    forged_hop,
    named_shapes,
    outsider_forgery,
    receipt,
    relay_hop,
)

from abusedesk.attribute import AttributionMethod, Confidence, attribute_report
from abusedesk.parse import parse_report
from abusedesk.parse.report import ReportFormat

DIRECTORY = HostedDirectory({VICTIM, ATTACKER})
FORGED_FIXTURES = sorted((FIXTURES / "reports" / "attribution" / "forged").glob("*.eml"))
SHAPES = named_shapes()


@pytest.mark.parametrize("forgery", SHAPES, ids=lambda forgery: forgery.shape)
@pytest.mark.parametrize("report_format", [ReportFormat.ARF, ReportFormat.JMRP])
def test_every_named_shape_is_never_charged(forgery: Forgery, report_format: ReportFormat) -> None:
    outcome = attribute_report(forgery.report(report_format), SETTINGS, DIRECTORY)

    assert outcome.attribution is None, outcome.attribution
    assert outcome.reason
    # Not lost: the mailbox the forged chain names is kept for a person to review.
    assert outcome.candidate is not None and outcome.candidate.mailbox == VICTIM


def test_a_forward_names_the_forwarder() -> None:
    forward = next(shape for shape in SHAPES if shape.shape == "genuine-forward")

    reason = attribute_report(forward.report(), SETTINGS, DIRECTORY).reason

    assert reason is not None
    assert reason.startswith(
        "forwarded by mx.example.edu: the provider received it from 198.51.100.120"
    )
    assert "not from our relays" in reason


def test_every_shape_has_a_plain_fixture() -> None:
    assert {path.stem for path in FORGED_FIXTURES} == {shape.shape for shape in SHAPES}


@pytest.mark.parametrize("path", FORGED_FIXTURES, ids=lambda path: path.name)
def test_forged_fixtures_are_never_charged(path: Path) -> None:
    report = parse_report(path.read_bytes())
    assert report.original is not None and report.original.received

    outcome = attribute_report(report, SETTINGS, DIRECTORY)

    assert outcome.attribution is None, outcome.attribution
    assert outcome.candidate is not None and outcome.candidate.mailbox == VICTIM


@given(outsider_forgery())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_provider_that_did_not_receive_it_from_us_never_charges_anyone(
    forgery: Forgery,
) -> None:
    assert forgery.sender_ip not in RELAY_IPS
    outcome = attribute_report(forgery.report(), SETTINGS, DIRECTORY)

    assert outcome.attribution is None, (forgery.received, forgery.source_ip, outcome)


@given(customer_submission())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_customer_through_our_relay_is_charged_or_nobody_never_someone_else(
    submission: tuple[Forgery, bool],
) -> None:
    forgery, our_relay_wrote_the_sender = submission
    # Our relay adds its own copy of the authenticated-sender header above the client's.
    headers = (("X-Authenticated-Sender", ATTACKER), *forgery.headers)
    report = Forgery(
        forgery.shape, forgery.received, forgery.source_ip, forgery.sender_ip, headers
    ).report()

    outcome = attribute_report(report, SETTINGS, DIRECTORY)

    charged = outcome.attribution.mailbox if outcome.attribution else None
    assert charged in {ATTACKER, None}, (forgery.received, outcome)
    assert (
        our_relay_wrote_the_sender
        or charged is None
        or outcome.attribution.method
        in {
            AttributionMethod.AUTHENTICATED_HEADER,
            AttributionMethod.AUTH_RESULTS,
        }
    )


@given(st.lists(forged_hop(), max_size=5), st.sampled_from([RELAY_IPS[0], None]))
@settings(max_examples=200, deadline=None)
def test_whatever_a_customer_writes_below_our_hop_it_is_charged_itself(
    forged: list[str], source_ip: str | None
) -> None:
    chain = (receipt(RELAY1, RELAY1, RELAY_IPS[0]), relay_hop(ATTACKER), *forged)

    outcome = attribute_report(
        Forgery("c", chain, source_ip, RELAY_IPS[0]).report(), SETTINGS, DIRECTORY
    )

    assert outcome.attribution is not None, outcome.reason
    assert outcome.attribution.mailbox == ATTACKER
    assert outcome.attribution.confidence is Confidence.HIGH


def test_a_genuine_direct_delivery_is_still_charged_at_high() -> None:
    chain = (receipt(RELAY1, RELAY1, RELAY_IPS[0]), relay_hop(ATTACKER))
    for source_ip in (RELAY_IPS[0], None):
        report = Forgery("direct", chain, source_ip, RELAY_IPS[0]).report()

        outcome = attribute_report(report, SETTINGS, DIRECTORY)

        assert outcome.attribution is not None, outcome.reason
        assert outcome.attribution.mailbox == ATTACKER
        assert outcome.attribution.confidence is Confidence.HIGH


RECORDS_FROM = datetime(2026, 11, 1, tzinfo=UTC)


def records(queue_ids: dict[str, str], until: datetime | None = None) -> HostedDirectory:
    """Our policy service's records, kept from RECORDS_FROM to `until` (default: now)."""
    span = (RECORDS_FROM, until or datetime.now(UTC) + timedelta(days=1))
    return DIRECTORY.with_queue_ids(queue_ids, span)


def direct(queue_id: str, sender: str | None = ATTACKER) -> Forgery:
    chain = (receipt(RELAY1, RELAY1, RELAY_IPS[0]), relay_hop(sender, queue_id=queue_id))
    return Forgery("direct", chain, RELAY_IPS[0], RELAY_IPS[0])


def test_a_queue_id_we_never_issued_is_a_forgery() -> None:
    outcome = attribute_report(direct("4XNEVERISSUED").report(), SETTINGS, records({}))

    assert outcome.attribution is None
    assert outcome.reason is not None
    assert "4XNEVERISSUED, which our policy service never recorded" in outcome.reason


def test_outside_the_records_the_hop_is_read_as_written() -> None:
    # The records began after the message was sent (or were pruned): nothing to check against.
    later = records({}, until=datetime(2026, 11, 20, tzinfo=UTC))

    outcome = attribute_report(direct("4XOLDER").report(), SETTINGS, later)

    assert outcome.attribution is not None and outcome.attribution.mailbox == ATTACKER


def test_our_record_names_the_sender_of_a_redacted_hop() -> None:
    outcome = attribute_report(
        direct("4XKNOWN", sender="redacted").report(), SETTINGS, records({"4XKNOWN": ATTACKER})
    )

    assert outcome.attribution is not None
    assert outcome.attribution.method is AttributionMethod.QUEUE_ID
    assert outcome.attribution.mailbox == ATTACKER


def test_a_record_that_disagrees_with_the_hop_charges_nobody() -> None:
    outcome = attribute_report(
        direct("4XKNOWN", sender=VICTIM).report(), SETTINGS, records({"4XKNOWN": ATTACKER})
    )

    assert outcome.attribution is None
    assert outcome.reason is not None and "our own records disagree" in outcome.reason
    assert outcome.candidate is not None and outcome.candidate.mailbox == ATTACKER
