"""`abusedesk init [DIR]`: a commented config and an editable copy of the default policy, which
the other commands then run; it never overwrites a file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from tests.conftest import DEFAULT_RULES
from tests.support.cli import run_in_process

from abusedesk.config import load_settings
from abusedesk.decide.scenarios import scenarios_path


@pytest.fixture(autouse=True)
def no_abusedesk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("ABUSEDESK_"):
            monkeypatch.delenv(name)


def test_init_writes_a_config_that_runs_an_editable_copy_of_the_default_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "etc"
    done = run_in_process(monkeypatch, capsys, "init", str(folder))
    assert done.code == 0, done.err
    rules = folder / "rules" / "default.yaml"
    assert rules.read_bytes() == DEFAULT_RULES.read_bytes()
    assert scenarios_path(rules).read_bytes() == scenarios_path(DEFAULT_RULES).read_bytes()

    settings = load_settings(folder / "abusedesk.toml", environ={})
    assert settings.rules.path == rules and not settings.rules.packaged
    assert settings.data_dir == folder / "data"

    config = str(folder / "abusedesk.toml")
    monkeypatch.chdir(tmp_path)  # elsewhere: the config's paths do not depend on the directory
    checked = run_in_process(monkeypatch, capsys, "--config", config, "rules", "check")
    assert checked.code == 0 and checked.out.startswith(f"{rules}: OK"), checked.err
    tested = run_in_process(monkeypatch, capsys, "--config", config, "rules", "test")
    assert tested.code == 0 and tested.out.rstrip().endswith(" passed, 0 failed"), tested.out


def test_init_writes_into_the_current_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_in_process(monkeypatch, capsys, "init").code == 0
    # ./abusedesk.toml is found without --config, and names the copy.
    checked = run_in_process(monkeypatch, capsys, "rules", "check")
    assert checked.out.startswith(f"{tmp_path / 'rules' / 'default.yaml'}: OK"), checked.err


@pytest.mark.parametrize(
    "existing", ["abusedesk.toml", "rules/default.yaml", "rules/default.scenarios.yaml"]
)
def test_init_changes_nothing_where_a_file_it_would_write_exists(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    existing: str,
) -> None:
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_text("mine\n")
    done = run_in_process(monkeypatch, capsys, "init", str(tmp_path))
    assert done.code != 0 and done.out == ""
    assert done.err.count("\n") == 1 and f"{tmp_path / existing} exists" in done.err
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {existing}
    assert (tmp_path / existing).read_text() == "mine\n"


def test_every_key_the_config_shows_commented_out_is_a_key_abusedesk_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_in_process(monkeypatch, capsys, "init", str(tmp_path)).code == 0
    config = tmp_path / "abusedesk.toml"
    text = config.read_text()
    uncommented, count = re.subn(r"(?m)^# ([a-z_]+ = )", r"\1", text)
    assert count >= 20
    config.write_text(uncommented)
    # Unknown keys and bad values are refused, so this fails when the template drifts.
    settings = load_settings(config, environ={})
    assert settings.attribution.relays and settings.providers.dkim_domains
