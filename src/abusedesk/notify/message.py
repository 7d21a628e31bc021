"""A notice as an email message, built with the `email` API: headers are never string templates.

Every header value passes through `one_line`, so nothing that came from a
report can end a header line and start another (`\\r\\nBcc: …`).
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from abusedesk.notify.text import one_line
from abusedesk.store.tables import Notice

SENDER_NAME = "Abuse desk"
# On the wire every part is 7-bit (quoted-printable or base64): any smarthost takes it.
# For reading (`notices show`) the parts stay as written.
WIRE = SMTP.clone(cte_type="7bit")
READABLE = SMTP


def new_message_id(from_address: str) -> str:
    """A fresh Message-ID in the sender's domain; it is stored with the notice before sending."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return make_msgid(idstring="notice", domain=domain)


def build_message(notice: Notice, from_address: str, *, readable: bool = False) -> EmailMessage:
    """The multipart/alternative (text, HTML) message for an outbox row."""
    message = EmailMessage(policy=READABLE if readable else WIRE)
    message["From"] = Address(display_name=SENDER_NAME, addr_spec=from_address)
    message["To"] = Address(addr_spec=notice.recipient)
    message["Subject"] = one_line(notice.subject)
    message["Date"] = format_datetime(notice.created_at)
    if notice.message_id:
        message["Message-ID"] = one_line(notice.message_id)
    # RFC 3834: an automatic message; vacation responders and ticket systems stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Abusedesk-Notice"] = f"{notice.id} {one_line(notice.template)}"
    if notice.fallback:
        message["X-Abusedesk-Fallback"] = "no valid abuse contact on file for this company"
    message.set_content(notice.body_text)
    if notice.body_html:
        message.add_alternative(notice.body_html, subtype="html")
    return message


def render_as_text(notice: Notice, from_address: str) -> str:
    """The message as a person reads it, for `notices show`: its headers, then each part decoded."""
    message = build_message(notice, from_address, readable=True)
    lines = [f"{name}: {value}" for name, value in message.items() if name != "Content-Type"]
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        lines += ["", f"----- {part.get_content_type()} -----", str(part.get_content()).rstrip()]
    return "\n".join(lines) + "\n"
