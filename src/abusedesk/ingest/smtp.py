"""The embedded SMTP listener that feedback-loop providers deliver reports to (aiosmtpd).

It answers `250` only after the report's bytes and envelope are committed
(commits of concurrent senders are grouped, see `group_commit`); when the
database cannot take them it answers `451` so the sender retries. Per-peer
limits answer `421` (too many connections) and `451` (too many messages). The
handler does nothing else: parsing happens later, in the processing queue.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine

from abusedesk.config import ProviderSettings, SmtpSettings
from abusedesk.errors import StorageError
from abusedesk.ingest.group_commit import GroupCommitter
from abusedesk.ingest.peer_limits import PeerLimits
from abusedesk.ingest.smtp_paths import plain_path
from abusedesk.ingest.spool import IncomingReport, ListenerStore
from abusedesk.ingest.trust import ProviderPeers
from abusedesk.metrics import Metrics
from abusedesk.store.types import ReportSource

log = logging.getLogger(__name__)

OK = "250 OK"
UNKNOWN_RECIPIENT = "550 5.1.1 No such recipient here: this address only accepts abuse reports"
TRY_AGAIN_LATER = "451 4.3.0 Cannot store the report right now, please try again later"
TOO_MANY_MESSAGES = "451 4.7.1 Too many messages from your address, please slow down"
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections from your address, try again later"
SOURCE = ReportSource.SMTP.value


class ReportIntakeHandler:
    """aiosmtpd handler: accept reports for our recipients, store each before `250`."""

    def __init__(
        self,
        committer: GroupCommitter,
        smtp: SmtpSettings,
        providers: ProviderSettings,
        limits: PeerLimits,
        metrics: Metrics,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self._committer = committer
        self._providers = ProviderPeers(providers)
        self._limits = limits
        self._metrics = metrics
        self._addresses = {r.lower() for r in smtp.recipients if not r.startswith("@")}
        self._domains = {r[1:].lower() for r in smtp.recipients if r.startswith("@")}
        self._on_stored = on_stored or (lambda: None)

    def accepts(self, address: str) -> bool:
        address = address.lower()
        return address in self._addresses or address.rpartition("@")[2] in self._domains

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.accepts(address):
            return UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        return OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        peer_ip = _peer_ip(session)
        self._metrics.reports_received.labels(SOURCE).inc()
        if not self._limits.allow_message(peer_ip or "?"):
            self._metrics.reports_rejected.labels(SOURCE, "rate-limit").inc()
            return TOO_MANY_MESSAGES
        trusted, trust_reason = self._providers.trust(peer_ip)
        raw = envelope.original_content or b""
        report = IncomingReport(
            raw=raw,
            source=ReportSource.SMTP,
            trusted=trusted,
            trust_reason=trust_reason,
            peer=peer_ip,
            envelope={
                "helo": session.host_name,
                "mail_from": envelope.mail_from,
                "rcpt_to": list(envelope.rcpt_tos),
                "tls": session.ssl is not None,
            },
        )
        try:
            report_id = await self._committer.store(report)
        except StorageError as exc:
            log.warning("smtp: report from %s not stored, answered 451: %s", peer_ip, exc)
            self._metrics.reports_rejected.labels(SOURCE, "storage").inc()
            return TRY_AGAIN_LATER
        self._metrics.reports_accepted.labels(SOURCE).inc()
        log.info(
            "smtp: report %s stored (%d bytes from %s, %s)",
            report_id,
            len(raw),
            peer_ip,
            "trusted" if trusted else "untrusted",
        )
        self._on_stored()
        return f"250 2.0.0 Stored as report {report_id}"


def _peer_ip(session: Session) -> str | None:
    return str(session.peer[0]) if isinstance(session.peer, tuple) else None


class LimitedSMTP(SMTP):
    """aiosmtpd's SMTP protocol with a per-peer connection limit checked before the greeting."""

    # RFC 5321 allows 1,000 octets a line, but real reports carry longer ones (JSON
    # on one line, long encoded headers); refusing them would lose reports, so be
    # liberal like Postfix. The message size limit still bounds the whole.
    line_length_limit = 1 << 20

    def __init__(
        self, handler: ReportIntakeHandler, *, limits: PeerLimits, metrics: Metrics, **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        self._limits = limits
        self._metrics = metrics

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's reading of a command's path, without its parser for plain paths."""
        plain = plain_path(arg)
        if plain is None:
            return super()._getaddr(arg)
        address, local_part, rest = plain
        if self.local_part_limit and len(local_part) > self.local_part_limit:
            return None, None
        return address, rest

    async def _handle_client(self) -> None:
        peer = (_peer_ip(self.session) if self.session else None) or "?"
        if not self._limits.open_connection(peer):
            self._metrics.reports_rejected.labels(SOURCE, "connection-limit").inc()
            await self.push(TOO_MANY_CONNECTIONS)
            if self.transport is not None:
                self.transport.close()
            return
        self._metrics.smtp_sessions.inc()
        self._metrics.smtp_sessions_active.inc()
        try:
            await super()._handle_client()
        finally:
            self._metrics.smtp_sessions_active.dec()
            self._limits.close_connection(peer)


def tls_context(smtp: SmtpSettings) -> ssl.SSLContext | None:
    if smtp.tls_cert is None or smtp.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(smtp.tls_cert, smtp.tls_key)
    return context


async def start_smtp_listener(
    engine: Engine,
    smtp: SmtpSettings,
    providers: ProviderSettings,
    metrics: Metrics,
    on_stored: Callable[[], None] | None = None,
) -> tuple[asyncio.Server, GroupCommitter]:
    """Listen on the configured address in the running loop."""
    store = ListenerStore(engine)
    committer = GroupCommitter(store, close=store.close)
    committer.start()
    limits = PeerLimits(smtp.max_connections_per_peer, smtp.max_messages_per_peer_per_minute)
    handler = ReportIntakeHandler(committer, smtp, providers, limits, metrics, on_stored)
    context = tls_context(smtp)

    def protocol() -> SMTP:
        return LimitedSMTP(
            handler,
            limits=limits,
            metrics=metrics,
            data_size_limit=smtp.max_message_size,
            timeout=smtp.idle_timeout_seconds,
            hostname="abusedesk",
            ident="abusedesk report intake",
            tls_context=context,
        )

    server = await asyncio.get_running_loop().create_server(
        protocol, host=smtp.host, port=smtp.port
    )
    return server, committer
