"""`abusedesk demo` prints the console's URL and its demo admins, whose passwords work."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import Session
from tests.conftest import run_cli

from abusedesk.access.users import find_user, verify_password
from abusedesk.store.engine import create_database_engine


def test_the_demo_prints_the_console_and_working_credentials(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    result = run_cli(
        "demo",
        "--once",
        "--smtp-port",
        "0",
        "--web-port",
        "0",
        "--data-dir",
        str(folder),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"The review console: http://127\.0\.0\.1:\d+/", result.stdout)
    found = dict(re.findall(r"^\s+([a-z-]+)\s+password (\S+)\s+\(", result.stdout, re.MULTILINE))
    assert set(found) == {"abuse-team", "acme-admin", "shop-admin"}
    assert "(domain-admin: shop.example)" in result.stdout
    engine = create_database_engine(f"sqlite:///{folder / 'abusedesk.sqlite3'}")
    with Session(engine) as session:
        for username, password in found.items():
            user = find_user(session, username)
            assert user is not None and verify_password(user, password)
    engine.dispose()
