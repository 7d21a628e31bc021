"""What the demo suggests trying next: every line runs as printed, from any terminal.

The `abusedesk` of `scripts/demo` is in a virtualenv that is not on PATH, so a
hint names the command by its full path unless PATH finds this very one.
"""

from __future__ import annotations

import secrets
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path


def hint_command() -> str:
    """`abusedesk` when PATH finds this one; else the script beside this Python, by full path
    (a virtualenv's), else `python -m abusedesk`."""
    beside = Path(sys.executable).parent / "abusedesk"
    if not beside.is_file():
        return f"{shlex.quote(sys.executable)} -m abusedesk"
    on_path = shutil.which("abusedesk")
    if on_path is not None and Path(on_path).resolve() == beside.resolve():
        return "abusedesk"
    return shlex.quote(str(beside))


@dataclass(frozen=True)
class Hints:
    command: str
    config: Path
    reports: Path
    """The folder of the sample reports as the demo sent them."""
    gone_after: bool
    """The demo removes its data when it ends (a temporary folder and --once)."""
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def cli(self, arguments: str) -> str:
        """A command line against the demo's configuration."""
        return f"{self.command} --config {shlex.quote(str(self.config))} {arguments}"

    def lines(self, smtp: tuple[str, int], recipient: str, web: tuple[str, int] | None) -> str:
        sample = shlex.quote(str(self.reports / "01-relay-alice.eml"))
        heading = "5. Try it yourself, in another terminal while the demo runs:"
        if self.gone_after:
            heading = (
                "5. Try it yourself: this run (--once, no --data-dir) removes its data when it "
                "ends; run the demo without --once (or with --data-dir DIR), then in another "
                "terminal:"
            )
        lines = [
            "",
            heading,
            "   " + self.cli("notices list"),
            f"   printf '%s\\n' {shlex.quote(self.password)} | "
            + self.cli("users add me --role staff --password-stdin"),
            "   "
            + self.cli("suspensions lift newsletter@shop.example --as me --outcome educated")
            + " --note 'talked to them'",
            "   " + self.cli("doctor"),
            "   " + self.cli("reports list --status quarantined"),
            "   " + self.cli("mailbox show newsletter@shop.example --json"),
            "   " + self.cli("decisions list --json"),
            "   " + self.cli(f"parse --json {shlex.quote(str(self.reports))}/*.eml"),
            # curl speaks SMTP; the demo wrote its samples with the CRLF line ends SMTP wants.
            # The same bytes again: stored, and recognised as a duplicate.
            f"   curl -sS smtp://{smtp[0]}:{smtp[1]} --mail-from scomp@aol.example "
            f"--mail-rcpt {recipient} --upload-file {sample}",
        ]
        if web is not None:
            lines.append(f"   curl -sS http://{web[0]}:{web[1]}/metrics")
        lines.append(f"   (user me signs in to the console with password {self.password})")
        return "\n".join(lines)
