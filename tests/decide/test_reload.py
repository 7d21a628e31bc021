"""Hot reload: good rules are swapped in, a bad file is rejected and the last good rules run on."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from tests.conftest import run_cli
from tests.decide.conftest import DEFAULT_RULES

from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.decide.reload import RulesWatcher, read_status


def test_a_bad_file_keeps_the_last_good_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    text = DEFAULT_RULES.read_text()
    path.write_text(text)
    policy = PolicyEngine(load_rules(path))
    watcher = RulesWatcher(policy, path, status_dir=tmp_path)
    good = policy.ruleset.sha256

    path.write_text(text.replace("counters.complaints_24h >", "counters.complaints_42h >"))
    assert watcher.check_now() is False
    assert policy.ruleset.sha256 == good
    status = read_status(tmp_path)
    assert status is not None and status.active_sha256 == good
    assert status.problems and "unknown counter 'complaints_42h'" in status.problems[0]

    path.write_text(text.replace("complaint_limit: 5", "complaint_limit: 7"))
    assert watcher.check_now() is True
    assert policy.ruleset.params["complaint_limit"].default == 7
    assert watcher.check_now() is False  # unchanged file: nothing to do
    swapped = read_status(tmp_path)
    assert swapped is not None and swapped.active_sha256 == policy.ruleset.sha256
    assert swapped.problems is None


def test_sighup_triggers_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    text = DEFAULT_RULES.read_text()
    path.write_text(text)
    policy = PolicyEngine(load_rules(path))
    watcher = RulesWatcher(policy, path)
    previous = signal.getsignal(signal.SIGHUP)
    watcher.install_sighup()
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop, 60.0))
    thread.start()
    try:
        path.write_text(text.replace("repeat_limit: 3", "repeat_limit: 4"))
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(100):
            if policy.ruleset.params["repeat_limit"].default == 4:
                break
            threading.Event().wait(0.05)
        assert policy.ruleset.params["repeat_limit"].default == 4
    finally:
        stop.set()
        os.kill(os.getpid(), signal.SIGHUP)
        thread.join(5)
        signal.signal(signal.SIGHUP, previous)


def test_rules_status_shows_the_rejection(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DEFAULT_RULES.read_text())
    policy = PolicyEngine(load_rules(rules))
    watcher = RulesWatcher(policy, rules, status_dir=tmp_path / "data")
    rules.write_text("rules: [oops\n")
    watcher.check_now()
    env = {"ABUSEDESK_DATA_DIR": str(tmp_path / "data"), "ABUSEDESK_RULES__PATH": str(rules)}
    result = run_cli("rules", "status", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert f"active:   {rules} sha256 {policy.ruleset.sha256[:12]}" in result.stdout
    assert "rejected: sha256" in result.stdout and "not valid YAML" in result.stdout
    assert "does not check" in result.stdout
