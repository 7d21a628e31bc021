"""The wheel, installed as a Python user installs it, works outside the checkout.

The wheel is built from a copy of the files an sdist holds (pyproject.toml,
README.md, LICENSE, src/), so that a stale build/ folder in the checkout cannot
supply a file the package data forgets. It is installed with pip into a new
virtualenv in a temporary folder, its dependencies resolved from the package
index as for any user, and run from an empty folder with nothing of the
checkout on sys.path. A file of src/abusedesk/ missing from the installed
package fails it, and so does a command of the README's first steps that does
not work on the packaged defaults.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from tests.conftest import REPO
from tests.support.service_process import free_port

from abusedesk import __version__
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import RawReport

pytestmark = pytest.mark.slow

SDIST_FILES = ("pyproject.toml", "README.md", "LICENSE")
RELAYS = '["relay1.out.hostingplatform.example", "198.51.100.0/28"]'


@dataclass(frozen=True)
class Installed:
    venv: Path
    package: Path
    """The installed `abusedesk` package folder, inside the virtualenv."""
    env: dict[str, str]

    def abusedesk(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "abusedesk"), *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            input=stdin,
        )


def checked(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SDIST_FILES:
        (source / name).write_bytes((REPO / name).read_bytes())
    subprocess.run(
        ["cp", "-r", str(REPO / "src"), str(source / "src")], check=True, capture_output=True
    )
    # Nothing of the checkout, and no other abusedesk settings, may leak into the install.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ABUSEDESK_", "PYTHON")) and k != "VIRTUAL_ENV"
    }
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    checked(
        subprocess.run(
            [*pip, "wheel", "--quiet", "--no-deps", "-w", str(root / "dist"), str(source)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    )
    [wheel] = (root / "dist").glob("abusedesk-*.whl")
    assert wheel.name.startswith(f"abusedesk-{__version__}-")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    checked(
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    )
    where = checked(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import abusedesk; print(abusedesk.__file__)"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
    )
    package = Path(where.strip()).parent
    assert package.is_relative_to(venv), package
    return Installed(venv, package, env)


def test_every_file_of_the_package_is_installed(installed: Installed) -> None:
    source = REPO / "src" / "abusedesk"
    files = {
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    missing = sorted(str(f) for f in files if not (installed.package / f).is_file())
    assert not missing, f"not in the wheel (pyproject.toml package-data?): {missing}"
    assert any(installed.package.parent.glob("abusedesk-*.dist-info/licenses/LICENSE"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty folder, as a new user's."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_a_user_starts_from_an_empty_folder(installed: Installed, work: Path) -> None:
    run = installed.abusedesk
    assert checked(run("--version", cwd=work)).strip() == f"abusedesk {__version__}"
    assert "wrote" in checked(run("init", cwd=work))
    assert "database upgraded from empty" in checked(run("db", "upgrade", cwd=work))
    samples = installed.package / "demo"
    imported = checked(run("accounts", "import", str(samples / "accounts.csv"), cwd=work))
    assert "10 mailboxes created" in imported
    rules = work / "rules" / "default.yaml"
    assert checked(run("rules", "check", cwd=work)).startswith(f"{rules}: OK")
    assert checked(run("rules", "test", cwd=work)).rstrip().endswith(" passed, 0 failed")

    report = str(samples / "reports" / "01-relay-alice.eml")
    relays = {"ABUSEDESK_ATTRIBUTION__RELAYS": RELAYS}  # as an operator sets [attribution]
    ingested = checked(run("ingest", report, cwd=work, env=relays))
    assert "stored 1 report(s); processed 1" in ingested
    alice = json.loads(checked(run("mailbox", "show", "alice@shop.example", "--json", cwd=work)))
    assert alice["complaints"] == {"complaint": 1}


def test_every_command_of_using_it_works_from_the_wheel(installed: Installed, work: Path) -> None:
    """The README's "Using it", command by command, on the packaged defaults."""
    relays = {
        "ABUSEDESK_ATTRIBUTION__RELAYS": RELAYS,
        "ABUSEDESK_NOTICES__SMARTHOST_PORT": str(free_port()),  # nothing listens: retried
    }

    def ok(*args: str, stdin: str | None = None) -> str:
        return checked(installed.abusedesk(*args, cwd=work, env=relays, stdin=stdin))

    def as_json(*args: str) -> Any:
        return json.loads(ok(*args))

    samples = installed.package / "demo"
    assert "Usage" in ok("--help")
    ok("init")
    ok("db", "upgrade")
    ok("accounts", "import", str(samples / "accounts.csv"))
    ok("accounts", "add", "new@shop.example", "--signup-ip", "203.0.113.9")
    assert "new@shop.example" in {row["address"] for row in as_json("accounts", "list", "--json")}
    forged = str(samples / "reports" / "05-forged-relay-hops-below-external.eml")
    parsed = as_json("parse", "--json", forged)
    assert parsed["mailbox"] is None and parsed["candidate"]["mailbox"] == "bob@shop.example"
    assert "processed" in ok("ingest", str(samples / "reports"))
    newsletter = as_json("mailbox", "show", "newsletter@shop.example", "--json")
    assert newsletter["services"]["send"] is False
    quarantined = as_json("reports", "list", "--status", "quarantined", "--json")
    assert quarantined
    assert "Feedback-Type" in ok("reports", "show", str(quarantined[0]["id"]))
    assert ": OK (" in ok("rules", "check")
    assert " passed, 0 failed" in ok("rules", "test")
    ok("rules", "replay", "--rules", str(work / "rules" / "default.yaml"), "--since", "3650d")
    assert "default.yaml" in ok("rules", "status")
    ok("rules", "params", "set", "complaint_limit", "10", "--domain", "shop.example")
    decisions = as_json("decisions", "list", "--mailbox", "newsletter@shop.example", "--json")
    suspending = next(d for d in decisions if "soft-suspend" in map(str, d["fired"]))
    assert "soft-suspend" in ok("decisions", "explain", str(suspending["id"]))
    ok("users", "add", "sam", "--role", "staff", "--password-stdin", stdin="sam-secret-9\n")
    company = "Acme Hosting Resellers"
    ok("users", "add", "ann", "--role", "company-admin", "--company", company, "--password-stdin",
       stdin="ann-secret-9\n")  # fmt: skip
    assert {"ann", "sam"} <= {user["username"] for user in as_json("users", "list", "--json")}
    assert ok("users", "token", "ann").strip()
    assert as_json("suspensions", "list", "--company", company, "--json")
    ok("notices", "list", "--json")
    [notice, *_] = as_json("notices", "list", "--json")
    assert "newsletter@shop.example" in ok("notices", "show", str(notice["id"]))
    ok("notices", "send")
    ok("suspensions", "lift", "newsletter@shop.example", "--as", "ann", "--outcome", "educated",
       "--note", "talked to them")  # fmt: skip
    candidates = as_json("candidates", "list", "--json")
    hosted = next(c for c in candidates if c["candidate"]["hosted"])
    ok("candidates", "charge", str(hosted["report_id"]), "--as", "sam", "--note", "relay log")
    ok("mailbox", "delete", "bob@shop.example", "--as", "ann", "--note", "closed")
    assert as_json("audit", "list", "--actor", "ann", "--json")
    ok("audit", "list", "--as", "ann", "--action", "suspension.lift")
    doctor = installed.abusedesk("doctor", cwd=work, env=relays)
    assert doctor.returncode in (0, 1) and "Traceback" not in doctor.stderr, doctor.stderr


@pytest.fixture
def serving(installed: Installed, work: Path) -> Iterator[dict[str, int]]:
    """`abusedesk serve` of an `init`ed folder, on free ports (never the defaults)."""
    checked(installed.abusedesk("init", cwd=work))
    ports = {"smtp": free_port(), "web": free_port(), "policy": free_port()}
    env = {
        **installed.env,
        **{f"ABUSEDESK_{role.upper()}__PORT": str(port) for role, port in ports.items()},
        "ABUSEDESK_PROVIDERS__PEERS": '["127.0.0.0/8"]',
        "ABUSEDESK_ATTRIBUTION__RELAYS": RELAYS,
    }
    log = work / "serve.log"
    with log.open("w") as sink:
        service = subprocess.Popen(
            [str(installed.venv / "bin" / "abusedesk"), "serve"],
            cwd=work,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Postfix policy service on" not in log.read_text():
            assert service.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield ports
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0, log.read_text()
        assert "Traceback" not in log.read_text(), log.read_text()
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()


def test_serve_answers_smtp_http_and_the_policy_port_then_stops_cleanly(
    installed: Installed, work: Path, serving: dict[str, int]
) -> None:
    report = (installed.package / "demo" / "reports" / "newsletter-complaint-1.eml").read_bytes()
    with smtplib.SMTP("127.0.0.1", serving["smtp"], timeout=30) as client:
        refused = client.sendmail("scomp@aol.example", ["fbl@localhost"], report)
    assert refused == {}
    web = f"http://127.0.0.1:{serving['web']}"
    for path in ("/healthz", "/login", "/static/console.css"):
        with urllib.request.urlopen(web + path, timeout=10) as response:
            assert response.status == 200, path
    with socket.create_connection(("127.0.0.1", serving["policy"]), timeout=10) as policy:
        policy.sendall(
            b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
            b"sasl_username=newsletter@shop.example\n\n"
        )
        answer = policy.recv(4096)
    assert answer.startswith(b"action=") and answer.endswith(b"\n\n")

    engine = create_database_engine(f"sqlite:///{work / 'data' / 'abusedesk.sqlite3'}")
    deadline = time.monotonic() + 30
    try:
        while True:
            with Session(engine) as session:
                statuses = session.execute(select(col(RawReport.status))).scalars().all()
            if statuses and "pending" not in statuses:
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(0.2)
    finally:
        engine.dispose()
    # Not an account here, so nobody is charged: what matters is that the worker ran it.
    assert statuses == ["quarantined"]


def test_the_demo_runs_from_the_wheel(installed: Installed, work: Path, tmp_path: Path) -> None:
    ports = ("--smtp-port", "0", "--web-port", "0", "--policy-port", "0")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    told = checked(
        installed.abusedesk("demo", "--once", *ports, cwd=work, env={"TMPDIR": str(temporary)})
    )
    assert "newsletter@shop.example: sending suspended by rule 'soft-suspend'" in told
    assert f"{installed.venv / 'bin' / 'abusedesk'} --config " in told
    # Its data was in a temporary folder, removed at the end; nothing was written here.
    assert list(temporary.iterdir()) == [] and list(work.iterdir()) == []
