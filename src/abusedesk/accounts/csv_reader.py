"""Read an account directory CSV into validated, typed rows.

The header is `company,company_abuse_contact,domain,address,created_at`, one
row per mailbox. Every mistake is reported with file and line before anything
is written, so a bad file never half-imports.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from abusedesk.errors import DirectoryImportError
from abusedesk.store.addresses import normalize_address, normalize_domain

REQUIRED_COLUMNS = ("company", "company_abuse_contact", "domain", "address", "created_at")


@dataclass(frozen=True, slots=True)
class AccountRow:
    line: int
    company: str
    company_abuse_contact: str | None
    domain: str
    address: str
    created_at: datetime | None
    signup_ip: str | None = None


def read_account_rows(path: Path) -> list[AccountRow]:
    """All rows of `path`, validated; raises `DirectoryImportError` naming file:line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(_rows(path, csv.DictReader(handle)))
    except OSError as exc:
        raise DirectoryImportError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DirectoryImportError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise DirectoryImportError(f"{path}: malformed CSV: {exc}") from exc


def _rows(path: Path, reader: csv.DictReader[str]) -> Iterator[AccountRow]:
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise DirectoryImportError(
            f"{path}:1: header must be {','.join(REQUIRED_COLUMNS)} (missing: {', '.join(missing)})"
        )
    reader.fieldnames = header
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        row = _validate(path, line, record)
        if row.address in seen:
            raise DirectoryImportError(
                f"{path}:{line}: {row.address} is listed twice (first on line {seen[row.address]})"
            )
        seen[row.address] = line
        yield row


def _validate(path: Path, line: int, record: dict[str, str | None]) -> AccountRow:
    def field(name: str) -> str:
        return (record.get(name) or "").strip()

    where = f"{path}:{line}"
    company, domain = field("company"), normalize_domain(field("domain"))
    address = normalize_address(field("address"))
    contact = field("company_abuse_contact").lower() or None
    if not company:
        raise DirectoryImportError(f"{where}: company is empty")
    if not domain or "@" in domain or "." not in domain:
        raise DirectoryImportError(f"{where}: domain {domain!r} is not a domain name")
    local, at, address_domain = address.rpartition("@")
    if not at or not local:
        raise DirectoryImportError(f"{where}: address {address!r} is not an email address")
    if address_domain != domain:
        raise DirectoryImportError(f"{where}: address {address} is not in domain {domain}")
    if contact is not None and "@" not in contact:
        raise DirectoryImportError(f"{where}: company_abuse_contact {contact!r} is not an address")
    return AccountRow(
        line, company, contact, domain, address, _created_at(where, field("created_at"))
    )


def _created_at(where: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DirectoryImportError(
            f"{where}: created_at {text!r} is not an ISO 8601 date-time"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
