"""Hot reload: a changed rules file (polled, or on SIGHUP) is checked, then swapped in.

A file that does not check is rejected and the last good rules keep running;
the rejection is logged and written to a status file that `abusedesk rules
status` reads (the service and the CLI are different processes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import read_rules
from abusedesk.store.types import utcnow

log = logging.getLogger(__name__)

STATUS_FILE = "rules-status.json"
POLL_SECONDS = 0.5
"""How often the file is read and hashed (cheap): nodes that share one rules file, or get
the same one from configuration management, each run a change within a second."""


@dataclass
class RulesStatus:
    path: str
    active_sha256: str
    loaded_at: str
    rejected_sha256: str | None = None
    rejected_at: str | None = None
    problems: list[str] | None = None
    pid: int = 0


class RulesWatcher:
    def __init__(self, engine: PolicyEngine, path: Path, status_dir: Path | None = None) -> None:
        self._engine = engine
        self._path = path
        self._status_path = status_dir / STATUS_FILE if status_dir is not None else None
        self._seen_sha256 = engine.ruleset.sha256
        self._wake = threading.Event()
        self.status = RulesStatus(
            str(path), engine.ruleset.sha256, utcnow().isoformat(), pid=os.getpid()
        )
        self._write_status()

    def check_now(self) -> bool:
        """Reload if the file changed; True when new rules were swapped in."""
        try:
            data = self._path.read_bytes()
        except OSError as exc:
            marker = f"unreadable-{exc.errno}"
            if marker != self._seen_sha256:  # say it once, not at every poll
                self._seen_sha256 = marker
                self._reject(marker, [f"{self._path}: cannot read: {exc}"])
            return False
        digest = hashlib.sha256(data).hexdigest()
        if digest == self._seen_sha256:
            return False
        self._seen_sha256 = digest
        result = read_rules(self._path)
        if result.ruleset is None:
            self._reject(digest, result.problems)
            return False
        self._engine.replace(result.ruleset)
        self.status = RulesStatus(str(self._path), digest, utcnow().isoformat(), pid=os.getpid())
        log.info("rules %s reloaded (sha256 %s)", self._path, digest[:12])
        self._write_status()
        return True

    def _reject(self, digest: str, problems: list[str]) -> None:
        log.error(
            "rules %s rejected, the last good rules keep running: %s",
            self._path,
            "; ".join(problems),
        )
        self.status.rejected_sha256 = digest
        self.status.rejected_at = utcnow().isoformat()
        self.status.problems = problems
        self._write_status()

    def request_check(self) -> None:
        """Check the file now rather than at the next poll (what SIGHUP asks for)."""
        self._wake.set()

    def install_sighup(self) -> None:
        """SIGHUP asks for a check now (main thread only, as Python requires)."""
        signal.signal(signal.SIGHUP, lambda _signum, _frame: self._wake.set())

    def run(self, stop: threading.Event, interval: float = POLL_SECONDS) -> None:
        """Poll until `stop` is set; a SIGHUP cuts the wait short."""
        while not stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if not stop.is_set():
                self.check_now()

    def _write_status(self) -> None:
        if self._status_path is None:
            return
        self._status_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._status_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self.status), indent=2), encoding="utf-8")
        os.replace(temporary, self._status_path)  # readers never see half a file


def read_status(status_dir: Path) -> RulesStatus | None:
    path = status_dir / STATUS_FILE
    if not path.is_file():
        return None
    return RulesStatus(**json.loads(path.read_text(encoding="utf-8")))
