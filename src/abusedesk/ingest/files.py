"""Read reports from what an operator points at: files, folders (Maildir too), mbox, stdin."""

from __future__ import annotations

import mailbox
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from abusedesk.errors import AbusedeskError

STDIN = "-"
HEADER_LINE = re.compile(rb"[!-9;-~]+:")


class InputError(AbusedeskError):
    """A path given to ingest cannot be read."""

    exit_code = 66  # EX_NOINPUT


@dataclass(frozen=True, slots=True)
class FoundReport:
    origin: str
    """Where it came from, for messages: `file`, `mbox:3`, `-`."""
    raw: bytes


def read_reports(paths: Sequence[str]) -> Iterator[FoundReport]:
    """Every message under `paths`, in a stable order."""
    for path_text in paths:
        if path_text == STDIN:
            yield FoundReport(STDIN, sys.stdin.buffer.read())
            continue
        path = Path(path_text)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and _is_message(p)):
                if _looks_like_mail(file):
                    yield from _read_file(file)
        elif path.is_file():
            yield from _read_file(path)
        else:
            raise InputError(f"{path}: no such file or folder")


def _is_message(path: Path) -> bool:
    # Maildir keeps bookkeeping files beside the messages; skip hidden files and those.
    return (
        not path.name.startswith(".")
        and path.name
        not in {
            "maildirfolder",
            "dovecot-uidlist",
            "dovecot-keywords",
            "dovecot.index.log",
        }
        and not path.name.startswith("dovecot.index")
    )


def _looks_like_mail(path: Path) -> bool:
    """In a folder, only files that start like a message: a header field or an mbox line.

    Folders of reports often hold notes beside them (README, SOURCES.md); a file
    named explicitly is always taken, however it looks.
    """
    try:
        with path.open("rb") as handle:
            start = handle.read(200)
    except OSError:
        return True  # let _read_file report it
    return start.startswith(b"From ") or HEADER_LINE.match(start) is not None


def _read_file(path: Path) -> Iterator[FoundReport]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not raw.startswith(b"From "):
        yield FoundReport(str(path), raw)
        return
    box = mailbox.mbox(path, create=False)
    keys = list(box.keys())
    if len(keys) <= 1:
        # A single message saved with its mbox separator: keep its exact bytes.
        yield FoundReport(str(path), raw)
        return
    for number, key in enumerate(keys, start=1):
        yield FoundReport(f"{path}:{number}", box.get_bytes(key, from_=True))
