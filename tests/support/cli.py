"""`abusedesk` run in this process, for commands that touch no database: no subprocess to pay."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from abusedesk.cli import main


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def run_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> Ran:
    """`abusedesk ARGS` through the real entry point: its exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["abusedesk", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    captured = capsys.readouterr()
    code = ended.value.code
    return Ran(code if isinstance(code, int) else 1, captured.out, captured.err)
