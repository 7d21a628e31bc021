"""`abusedesk parse --json`, `ingest` and `reports list`, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CORPUS, DEMO, FIXTURES, run_cli
from tests.support.candidates import FORGED_REASON, unproven
from tests.support.reports import outsider_forgery

from abusedesk.parse import parse_report
from abusedesk.record.summary import readable_summary, report_summary

CONFIG = str(DEMO / "abusedesk.toml")
CONTRACT_KEYS = {
    "file",
    "kind",
    "format",
    "feedback_type",
    "reporter",
    "source_ip",
    "arrival_date",
    "original",
    "mailbox",
    "attribution",
    "candidate",
    "problems",
}


def test_parse_json_prints_one_object_per_file(database_url: str) -> None:
    files = sorted(CORPUS.glob("*.eml"))
    result = run_cli(
        "--config", CONFIG, "parse", "--json", *map(str, files), database_url=database_url
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(files)
    for line, path in zip(lines, files, strict=True):
        summary = json.loads(line)
        assert set(summary) == CONTRACT_KEYS
        assert summary["file"] == str(path)
        assert set(summary["original"]) == {
            "message_id",
            "from",
            "mail_from",
            "subject",
            "recipients",
        }
        assert summary["kind"] in {
            "complaint",
            "not-spam",
            "opt-out",
            "auth-failure",
            "other-report",
            "not-a-report",
        }
        assert summary["mailbox"] is None  # none of the corpus was sent by our platform
        if summary["candidate"] is not None:
            assert set(summary["candidate"]) == {"mailbox", "evidence"}
    first = json.loads(lines[0])
    assert (first["kind"], first["format"], first["feedback_type"]) == ("complaint", "arf", "abuse")


def test_parse_attributes_with_the_configured_directory(database_url: str) -> None:
    run_cli("accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url)
    fixtures = sorted((FIXTURES / "reports" / "attribution").glob("*.eml"))
    result = run_cli(
        "--config", CONFIG, "parse", "--json", *map(str, fixtures), database_url=database_url
    )
    summaries = [json.loads(line) for line in result.stdout.splitlines()]
    charged = {s["mailbox"] for s in summaries if s["mailbox"]}
    assert "alice@shop.example" in charged
    for summary in summaries:
        if summary["mailbox"]:
            assert summary["attribution"]["method"] and summary["attribution"]["evidence"]


def test_an_unproven_report_shows_its_candidate_beside_no_mailbox() -> None:
    report = parse_report(outsider_forgery(1))
    summary = report_summary("forged.eml", report, unproven("alice@shop.example"))
    assert set(summary) == CONTRACT_KEYS
    assert summary["mailbox"] is None and summary["attribution"] is None
    assert summary["candidate"] == {
        "mailbox": "alice@shop.example",
        "evidence": "a hop by relay1.out.hostingplatform.example names (Authenticated sender: "
        "alice@shop.example), below a hop only attacker.example wrote",
    }
    assert f"not attributed: {FORGED_REASON}" in summary["problems"]
    shown = readable_summary(summary)
    assert "charged to" not in shown
    assert "  candidate for review (not charged): alice@shop.example: a hop by relay1" in shown


def test_parse_json_shows_the_outsiders_victim_as_a_candidate_only(
    database_url: str, tmp_path: Path
) -> None:
    run_cli("accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url)
    forged = tmp_path / "forged.eml"
    forged.write_bytes(outsider_forgery(1))
    result = run_cli("--config", CONFIG, "parse", "--json", str(forged), database_url=database_url)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["mailbox"] is None and summary["attribution"] is None
    assert summary["candidate"]["mailbox"] == "alice@shop.example"
    assert summary["candidate"]["evidence"]
    assert any(problem.startswith("not attributed: ") for problem in summary["problems"])


def test_ingest_folder_then_list_quarantined(database_url: str, tmp_path: Path) -> None:
    run_cli("accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url)
    result = run_cli("--config", CONFIG, "ingest", str(CORPUS), database_url=database_url)
    assert result.returncode == 0, result.stderr
    count = len(list(CORPUS.glob("*.eml")))
    assert f"stored {count} report(s); processed {count}" in result.stdout
    listed = run_cli(
        "reports", "list", "--status", "quarantined", "--json", database_url=database_url
    )
    quarantined = json.loads(listed.stdout)
    assert quarantined and all(r["status"] == "quarantined" and r["reason"] for r in quarantined)


def test_ingest_from_stdin_like_an_mta_pipe(database_url: str) -> None:
    raw = (CORPUS / "01-rfc5965-b1-minimal-abuse.eml").read_text()
    result = run_cli("ingest", "-", database_url=database_url, stdin=raw)
    assert result.returncode == 0, result.stderr
    assert "stored 1 report(s)" in result.stdout


def test_ingest_answers_75_when_the_database_is_down() -> None:
    result = run_cli(
        "ingest",
        "-",
        stdin="Subject: x\n\nbody\n",
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
    )
    assert result.returncode == 75
    assert result.stderr.startswith("abusedesk: database unavailable")


def test_ingest_missing_path_is_one_line(tmp_path: Path) -> None:
    result = run_cli("ingest", str(tmp_path / "nope.eml"), cwd=tmp_path)
    assert result.returncode == 66
    assert result.stderr == f"abusedesk: {tmp_path / 'nope.eml'}: no such file or folder\n"
