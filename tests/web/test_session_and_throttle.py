"""Signed session cookies, the login throttle and the console's secret key, on their own."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from abusedesk.errors import ConfigError
from abusedesk.store.engine import create_database_engine
from abusedesk.web.secret import SECRET_FILE, console_secret
from abusedesk.web.session import SessionSigner, new_session
from abusedesk.web.throttle import LoginThrottle

KEY = b"k" * 40


def test_a_cookie_reads_back_only_untampered_with_its_key_and_in_time() -> None:
    signer = SessionSigner(KEY, max_age=60)
    signed_in = new_session(1000.0).signed_in("token-of-dora", 1000.0)
    session = signed_in.with_flash("<b>saved</b>", "ok")
    cookie = signer.dump(session)
    assert signer.load(cookie, now=1030.0) == session
    body, _, signature = cookie.rpartition(".")
    assert signer.load(body[:-2] + "AA." + signature, now=1030.0) is None
    assert SessionSigner(b"x" * 40).load(cookie, now=1030.0) is None
    assert signer.load(cookie, now=1061.0) is None  # expired
    assert signer.load(cookie, now=900.0) is None  # from the future
    assert signer.load("garbage", now=1030.0) is None
    assert signer.load(None) is None


def test_signing_in_changes_the_csrf_token() -> None:
    anonymous = new_session(0.0)
    assert anonymous.signed_in("token-of-sam", 1.0).csrf != anonymous.csrf


def test_the_throttle_counts_failures_per_user_and_address_within_its_window(
    engine: Engine,
) -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    now = [start]
    throttle = LoginThrottle(
        engine, clock=lambda: now[0], per_user=3, per_address=5, window=timedelta(seconds=100)
    )
    for _ in range(3):
        assert throttle.attempt("Ann", "192.0.2.1").wait == 0  # wrong: its rows stay
    assert throttle.attempt("ann", "192.0.2.9").wait == 100  # usernames are case-insensitive
    assert throttle.attempt("bob", "192.0.2.1").wait == 0
    assert throttle.attempt("carl", "192.0.2.1").wait == 0
    assert throttle.attempt("dave", "192.0.2.1").wait == 100  # the address is spent too
    now[0] = start + timedelta(seconds=60)
    assert throttle.attempt("ann", "192.0.2.9").wait == 40  # refusals are not counted
    now[0] = start + timedelta(seconds=100)
    assert throttle.attempt("ann", "192.0.2.9").wait == 0
    right = throttle.attempt("eve", "192.0.2.2")
    throttle.succeeded(right)
    assert throttle.attempt("eve", "192.0.2.3").wait == 0


def test_the_throttle_is_one_count_for_every_node(engine: Engine) -> None:
    other_node = create_database_engine(engine.url.render_as_string(hide_password=False))
    try:
        here, there = LoginThrottle(engine, per_user=2), LoginThrottle(other_node, per_user=2)
        assert here.attempt("ann", "192.0.2.1").wait == 0
        assert there.attempt("ann", "192.0.2.2").wait == 0
        assert here.attempt("ann", "192.0.2.3").wait > 14 * 60
        assert there.attempt("ann", "192.0.2.4").wait > 14 * 60
    finally:
        other_node.dispose()


def test_the_secret_is_generated_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = console_secret(None, tmp_path / "data")
    assert console_secret(None, tmp_path / "data") == first
    mode = (tmp_path / "data" / SECRET_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert console_secret("c" * 32, tmp_path / "data") == b"c" * 32
    with pytest.raises(ConfigError, match="at least 32 characters"):
        console_secret("short", tmp_path)
