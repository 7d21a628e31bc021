"""`abusedesk serve` role flags: name roles to run only those, name none to run all."""

from __future__ import annotations

import pytest

from abusedesk.cli.roles import RoleFlags, choose_roles
from abusedesk.config import Settings
from abusedesk.errors import UsageError
from abusedesk.service import Roles

ALL = Roles(smtp=True, imap=True, worker=True, policy=True, web=True)


def test_no_flag_runs_every_role() -> None:
    assert choose_roles(RoleFlags(), Settings()) == ALL


def test_intake_and_worker_run_only_those() -> None:
    roles = choose_roles(RoleFlags(intake=True, worker=True), Settings())
    assert roles == Roles(smtp=True, imap=True, worker=True, policy=False, web=False)


def test_policy_and_web_run_only_those() -> None:
    roles = choose_roles(RoleFlags(policy=True, web=True), Settings())
    assert roles == Roles(smtp=False, imap=False, worker=False, policy=True, web=True)


def test_the_negative_spelling_keeps_its_meaning() -> None:
    roles = choose_roles(RoleFlags(smtp=False, imap=False), Settings())
    assert roles == Roles(smtp=False, imap=False, worker=True, policy=True, web=True)
    roles = choose_roles(RoleFlags(intake=False), Settings())
    assert roles == Roles(smtp=False, imap=False, worker=True, policy=True, web=True)


def test_a_no_flag_takes_a_part_of_intake_away() -> None:
    roles = choose_roles(RoleFlags(intake=True, imap=False), Settings())
    assert roles == Roles(smtp=True, imap=False, worker=False, policy=False, web=False)


def test_a_role_disabled_in_the_config_stays_off() -> None:
    settings = Settings.model_validate({"policy": {"enabled": False}, "web": {"enabled": False}})
    roles = choose_roles(RoleFlags(policy=True, web=True, worker=True), settings)
    assert roles == Roles(smtp=False, imap=False, worker=True, policy=False, web=False)


def test_nothing_left_to_run_is_a_usage_error() -> None:
    flags = RoleFlags(intake=False, worker=False, policy=False, web=False)
    with pytest.raises(UsageError, match="no role left"):
        choose_roles(flags, Settings())
