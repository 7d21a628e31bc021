"""`abusedesk users|suspensions|audit …` as an operator runs them: JSON out, one-line errors."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from abusedesk.access.users import get_user, user_for_api_token, verify_password
from abusedesk.decide.decide import decide_after_complaint
from abusedesk.store.types import utcnow
from tests.conftest import DEFAULT_RULES, run_cli
from tests.decide.conftest import add_complaint, mailbox_id, policy_from

ENV = {"ABUSEDESK_RULES__PATH": str(DEFAULT_RULES)}


def cli(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    done = run_cli(*args, database_url=database_url, env=ENV, stdin=stdin)
    return done.returncode, done.stdout, done.stderr


def test_users_add_list_and_token(directory_engine: Engine, database_url: str) -> None:
    code, out, err = cli(
        database_url,
        "users",
        "add",
        "ann",
        "--role",
        "company-admin",
        "--company",
        "Acme Hosting Resellers",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert (code, out, err) == (0, "added company-admin ann\n", "")
    code, _, err = cli(database_url, "users", "add", "dan", "--role", "domain-admin")
    assert (code, err) == (64, "abusedesk: a domain admin needs --domain\n")
    code, _, err = cli(
        database_url, "users", "add", "dan", "--role", "domain-admin", "--domain", "nowhere.example"
    )
    assert (code, err) == (1, "abusedesk: no domain nowhere.example\n")
    assert cli(database_url, "users", "add", "dan", "--role", "domain-admin", "--domain",
               "bakery.example")[0] == 0  # fmt: skip
    code, out, _ = cli(database_url, "users", "token", "dan")
    token = out.strip()
    assert code == 0 and token.startswith("adk_")
    code, out, _ = cli(database_url, "users", "list", "--json")
    assert [
        (u["username"], u["role"], u["company"], u["domain"], u["has_password"], u["has_api_token"])
        for u in json.loads(out)
    ] == [
        ("ann", "company-admin", "Acme Hosting Resellers", None, True, False),
        ("dan", "domain-admin", "Acme Hosting Resellers", "bakery.example", False, True),
    ]
    assert token not in out
    with Session(directory_engine) as session:
        assert verify_password(get_user(session, "ann"), "correct horse battery")
        found = user_for_api_token(session, token)
        assert found is not None and found.username == "dan"
    code, out, _ = cli(database_url, "audit", "list", "--json")
    assert [(e["action"], e["target"]) for e in json.loads(out)] == [
        ("user.token", "dan"),
        ("user.add", "dan"),
        ("user.add", "ann"),
    ]
    assert all(e["actor"].startswith("operator:") for e in json.loads(out))


def test_suspensions_list_filters_and_lift_errors(
    directory_engine: Engine, database_url: str
) -> None:
    policy = policy_from(DEFAULT_RULES)
    start = utcnow() - timedelta(hours=3)
    with Session(directory_engine) as session:
        for address in ("alice@shop.example", "orders@bakery.example", "info@hikers.example"):
            for minute in range(6):
                complaint = add_complaint(
                    session,
                    mailbox_id(directory_engine, address),
                    start + timedelta(minutes=minute),
                )
                assert complaint.id is not None
                decide_after_complaint(session, complaint.id, policy)
        session.commit()

    def listed(*options: str) -> list[str]:
        code, out, err = cli(database_url, "suspensions", "list", *options, "--json")
        assert code == 0, err
        return sorted(s["mailbox"] for s in json.loads(out))

    assert listed() == ["alice@shop.example", "info@hikers.example", "orders@bakery.example"]
    assert listed("--company", "Acme Hosting Resellers") == [
        "alice@shop.example",
        "orders@bakery.example",
    ]
    assert listed("--domain", "Bakery.Example") == ["orders@bakery.example"]
    code, _, err = cli(database_url, "suspensions", "list", "--company", "Nope Inc")
    assert (code, err) == (1, "abusedesk: no company 'Nope Inc'\n")

    assert cli(database_url, "users", "add", "hugo", "--role", "domain-admin", "--domain",
               "hikers.example")[0] == 0  # fmt: skip
    lift = ("suspensions", "lift", "alice@shop.example", "--as", "hugo", "--outcome", "lifted")
    code, _, err = cli(database_url, *lift, "--note", "not mine")
    assert (code, err) == (1, "abusedesk: no mailbox alice@shop.example\n")  # out of scope
    code, _, err = cli(database_url, *lift[:4], "ghost", *lift[5:], "--note", "x")
    assert (code, err) == (1, "abusedesk: no admin user ghost\n")
    code, _, err = cli(
        database_url, *lift[:2], "info@hikers.example", "--as", "hugo", "--outcome", "forgiven",
        "--note", "x",
    )  # fmt: skip
    assert code == 2 and "forgiven" in err and "Traceback" not in err
    code, out, err = cli(
        database_url, *lift[:2], "info@hikers.example", "--as", "hugo", "--outcome", "lifted",
        "--note", "their list is clean now",
    )  # fmt: skip
    assert code == 0, err
    assert listed() == ["alice@shop.example", "orders@bakery.example"]
    assert listed("--all") == [
        "alice@shop.example",
        "info@hikers.example",
        "orders@bakery.example",
    ]
    code, out, _ = cli(database_url, "audit", "list", "--actor", "hugo", "--json")
    [entry] = json.loads(out)
    assert (entry["action"], entry["target"], entry["note"], entry["origin"]) == (
        "suspension.lift",
        "info@hikers.example",
        "their list is clean now",
        "cli",
    )
    # --as lists what that admin sees in the console's /audit: hugo's own lift, not the
    # user.add entries about admin users.
    code, out, err = cli(database_url, "audit", "list", "--as", "hugo", "--json")
    assert code == 0, err
    assert [(e["actor"], e["action"]) for e in json.loads(out)] == [("hugo", "suspension.lift")]
    code, out, _ = cli(database_url, "audit", "list", "--action", "user.add", "--json")
    assert [e["target"] for e in json.loads(out)] == ["hugo"]
    code, _, err = cli(database_url, "audit", "list", "--as", "ghost")
    assert (code, err) == (1, "abusedesk: no admin user ghost\n")
