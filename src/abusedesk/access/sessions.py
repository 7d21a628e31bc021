"""Console sessions in the database: opened at sign-in, ended at sign-out or by a user's change.

The browser's cookie carries a random token; the database keeps only its
sha256, so a copy of the database signs nobody in. Every console request
looks its session up, so a session ends on every node at the same moment
its row goes: at sign-out, or when `end_sessions` is called for the user.

Each row also holds a stamp of what it was opened for — the user's password
hash, role, company, domain and whether they are disabled. A session whose
stamp no longer matches its user is over, so a change made by any path (a
password set, a role changed, a user disabled, even by hand in SQL) ends
the user's sessions without each of those paths having to remember to.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session, col

from abusedesk.access.scope import Actor, actor_for
from abusedesk.store.tables import AdminUser, ConsoleSession
from abusedesk.store.types import utcnow

SESSION_LIFETIME = timedelta(hours=12)


def open_session(db: Session, user: AdminUser, now: datetime | None = None) -> str:
    """A new session for `user`; returns its token (for the cookie), shown only now.

    Expired sessions of anyone are cleared on the way, so the table holds only
    the sessions that could still be used.
    """
    assert user.id is not None
    moment = now or utcnow()
    db.execute(delete(ConsoleSession).where(col(ConsoleSession.expires_at) <= moment))
    token = secrets.token_urlsafe(32)
    db.add(
        ConsoleSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            stamp=user_stamp(user),
            created_at=moment,
            expires_at=moment + SESSION_LIFETIME,
        )
    )
    db.flush()
    return token


def session_user(db: Session, token: str, now: datetime | None = None) -> AdminUser | None:
    """The user signed in by `token`, while the session is open and its user unchanged."""
    if not token:
        return None
    found = db.execute(
        select(ConsoleSession, AdminUser)
        .join(AdminUser, col(AdminUser.id) == col(ConsoleSession.user_id))
        .where(col(ConsoleSession.token_hash) == _token_hash(token))
    ).first()
    if found is None:
        return None
    session: ConsoleSession = found[0]
    user: AdminUser = found[1]
    if session.expires_at <= (now or utcnow()) or user.disabled:
        return None
    if not secrets.compare_digest(session.stamp, user_stamp(user)):
        return None
    return user


def session_actor(db: Session, token: str, origin: str) -> Actor | None:
    """The signed-in user of `token` as an actor acting from `origin`, else None."""
    user = session_user(db, token)
    return actor_for(user, origin) if user is not None else None


def end_session(db: Session, token: str) -> None:
    """Sign this session out (nothing happens for a token that names no session)."""
    db.execute(delete(ConsoleSession).where(col(ConsoleSession.token_hash) == _token_hash(token)))


def end_sessions(db: Session, user: AdminUser) -> int:
    """Sign every session of `user` out; returns how many there were."""
    ended = db.execute(delete(ConsoleSession).where(col(ConsoleSession.user_id) == user.id))
    return int(getattr(ended, "rowcount", 0) or 0)


def user_stamp(user: AdminUser) -> str:
    """A fingerprint of what a session of `user` was opened for; any change ends it."""
    parts = (
        str(user.id),
        user.role,
        str(user.company_id),
        str(user.domain_id),
        user.password_hash or "",
        "disabled" if user.disabled else "enabled",
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
