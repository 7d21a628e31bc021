"""Count sent volume: sum the policy service's hourly `sentvolume` buckets over a window.

The policy service meters what each mailbox sends per UTC hour, so a window
cannot be cut inside an hour. The bucket of the hour in which the window starts
counts in full (a 24 h window reads 25 buckets): a rate of complaints per
message sent is then never overstated by leaving out mail that was sent. The
bucket of the deciding moment's own hour holds what was metered so far.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, func, select
from sqlmodel import col

from abusedesk.decide.model import Counter, Scope, Value, Volume
from abusedesk.store.tables import Domain, Mailbox, SentVolume

if TYPE_CHECKING:
    from abusedesk.decide.counters import Subject

HOUR = timedelta(hours=1)


class VolumeQuery:
    """One sent-volume counter's statement, built once per rules version."""

    def __init__(self, counter: Counter) -> None:
        assert isinstance(counter.count, Volume)
        self.counter = counter
        sent = counter.count is Volume.SENT
        metered = col(SentVolume.messages if sent else SentVolume.recipients)
        total: Select[Any] = select(func.coalesce(func.sum(metered), 0)).select_from(SentVolume)
        hour = col(SentVolume.hour)
        if counter.per is Scope.MAILBOX:
            total = total.where(col(SentVolume.mailbox_id) == bindparam("mailbox_id"))
        else:
            total = total.join(Mailbox, col(Mailbox.id) == col(SentVolume.mailbox_id))
            if counter.per is Scope.DOMAIN:
                total = total.where(col(Mailbox.domain_id) == bindparam("domain_id"))
            else:
                total = total.join(Domain, col(Domain.id) == col(Mailbox.domain_id)).where(
                    col(Domain.company_id) == bindparam("company_id")
                )
        self.count = total.where(hour > bindparam("start"), hour <= bindparam("end"))

    def values(
        self, subject: Subject, at: datetime, params: dict[str, Value], cap: int
    ) -> dict[str, Any]:
        # A bucket starting after `window start - 1h` holds mail sent inside the window.
        return {
            "mailbox_id": subject.mailbox_id,
            "domain_id": subject.domain_id,
            "company_id": subject.company_id,
            "start": at - timedelta(seconds=self.counter.within) - HOUR,
            "end": at,
        }
