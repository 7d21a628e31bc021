"""Console sessions: a small JSON payload in a cookie, signed with HMAC-SHA256 and dated.

The cookie holds who signed in, the CSRF token of that session and a flash
message for the next page; nothing secret. A tampered, foreign or expired
cookie reads as no session. Signing out clears the cookie, and every request
re-reads the user from the database, so a disabled user loses access at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace

COOKIE_NAME = "abusedesk_session"
MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class SessionData:
    csrf: str
    username: str | None = None
    issued_at: float = 0.0
    flash: str | None = None
    flash_kind: str = "info"

    def signed_in(self, username: str, now: float) -> SessionData:
        # A new CSRF token at sign-in: a token seen before the sign-in is worth nothing after it.
        return SessionData(csrf=secrets.token_urlsafe(24), username=username, issued_at=now)

    def with_flash(self, message: str | None, kind: str = "info") -> SessionData:
        return replace(self, flash=message, flash_kind=kind)


def new_session(now: float) -> SessionData:
    return SessionData(csrf=secrets.token_urlsafe(24), issued_at=now)


@dataclass(frozen=True, slots=True)
class SessionSigner:
    key: bytes
    max_age: float = MAX_AGE_SECONDS

    def dump(self, session: SessionData) -> str:
        payload = json.dumps(
            {
                "c": session.csrf,
                "u": session.username,
                "t": session.issued_at,
                "f": session.flash,
                "k": session.flash_kind,
            },
            separators=(",", ":"),
        ).encode()
        body = base64.urlsafe_b64encode(payload).rstrip(b"=")
        return f"{body.decode()}.{self._sign(body)}"

    def load(self, cookie: str | None, now: float | None = None) -> SessionData | None:
        if not cookie or "." not in cookie:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(body.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = SessionData(
                csrf=str(data["c"]),
                username=data["u"] if isinstance(data["u"], str) else None,
                issued_at=float(data["t"]),
                flash=data["f"] if isinstance(data["f"], str) else None,
                flash_kind=str(data["k"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        current = time.time() if now is None else now
        if not 0 <= current - session.issued_at <= self.max_age:
            return None
        return session

    def _sign(self, body: bytes) -> str:
        digest = hmac.new(self.key, b"abusedesk-session\0" + body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
