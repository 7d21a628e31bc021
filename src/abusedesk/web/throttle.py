"""Sign-in rate limiting: too many failed sign-ins for one user or from one address wait a while.

Attempts are counted per username and per client address over a sliding
window, in the database, so every node counts the same attempts. An attempt
is counted *before* its password is checked, and attempts are counted one
at a time: `attempt` counts the rows of its keys and adds its own in one
transaction that holds a lock (an advisory lock on PostgreSQL; SQLite's
write lock, which the transaction's first statement takes). So of any number
of sign-ins sent at once to any number of nodes, exactly as many as the limit
allows go on to the (slow, argon2) password check, and the rest wait.

A wrong password leaves its rows as failures; a right one removes the
username's failures and its own row for the address. A refused attempt is
not counted, so a lockout ends a window after the failures that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, text
from sqlmodel import Session, col

from abusedesk.store.tables import SignInAttempt
from abusedesk.store.types import utcnow

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW = timedelta(minutes=15)
SIGN_IN_LOCK = 0x7369676E  # the advisory lock that counting sign-ins queue on ("sign")
MAX_KEY = 200
"""Keys are cut to this length: a username that long is no valid username anyway."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One counted sign-in attempt; `wait` > 0 when it was refused (and not counted)."""

    user_key: str
    ids: tuple[int, ...]
    wait: float = 0.0


@dataclass(frozen=True)
class LoginThrottle:
    engine: Engine
    per_user: int = MAX_FAILURES_PER_USER
    per_address: int = MAX_FAILURES_PER_ADDRESS
    window: timedelta = WINDOW
    clock: Callable[[], datetime] = utcnow

    def attempt(self, username: str, address: str) -> Attempt:
        """Count an attempt; its `wait` says how many seconds to wait when it may not go on."""
        now = self.clock()
        limits = {
            _key("user", username.lower()): self.per_user,
            _key("addr", address): self.per_address,
        }
        user_key = next(iter(limits))
        with Session(self.engine) as db:
            # The first statement writes: on SQLite it takes the write lock for the whole count.
            db.execute(delete(SignInAttempt).where(col(SignInAttempt.at) <= now - self.window))
            if db.get_bind().dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SIGN_IN_LOCK})
            wait = max(self._wait(db, key, limit, now) for key, limit in limits.items())
            if wait > 0:
                db.commit()  # the purge only: a refused attempt is not counted
                return Attempt(user_key, (), wait)
            rows = [SignInAttempt(key=key, at=now) for key in limits]
            db.add_all(rows)
            db.commit()
            return Attempt(user_key, tuple(row.id for row in rows if row.id is not None))

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the username's failures are forgiven."""
        with Session(self.engine) as db:
            db.execute(
                delete(SignInAttempt).where(
                    (col(SignInAttempt.key) == attempt.user_key)
                    | col(SignInAttempt.id).in_(attempt.ids)
                )
            )
            db.commit()

    def _wait(self, db: Session, key: str, limit: int, now: datetime) -> float:
        """0 while `key` has fewer than `limit` attempts in the window; else the seconds until
        the oldest of its `limit` newest attempts leaves the window."""
        recent = select(col(SignInAttempt.at)).where(
            col(SignInAttempt.key) == key, col(SignInAttempt.at) > now - self.window
        )
        oldest: datetime | None = db.execute(
            recent.order_by(col(SignInAttempt.at).desc()).offset(limit - 1).limit(1)
        ).scalar_one_or_none()
        if oldest is None:
            return 0.0
        return max(float((oldest + self.window - now).total_seconds()), 1.0)


def _key(kind: str, value: str) -> str:
    return f"{kind}:{value[:MAX_KEY]}"
