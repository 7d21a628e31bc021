"""Config: file discovery, precedence (file < environment), and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from abusedesk.config import load_settings
from abusedesk.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_run_embedded_on_sqlite_and_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("data/abusedesk.sqlite3")
    assert settings.smtp.host == settings.policy.host == settings.web.host == "127.0.0.1"


def test_explicit_file_beats_env_file_beats_cwd_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "abusedesk.toml", "[smtp]\nport = 1001\n")
    from_env = write(tmp_path / "env.toml", "[smtp]\nport = 1002\n")
    explicit = write(tmp_path / "explicit.toml", "[smtp]\nport = 1003\n")
    assert load_settings(environ={}).smtp.port == 1001
    assert load_settings(environ={"ABUSEDESK_CONFIG": str(from_env)}).smtp.port == 1002
    assert load_settings(explicit, environ={"ABUSEDESK_CONFIG": str(from_env)}).smtp.port == 1003


def test_environment_overrides_file_values(tmp_path: Path) -> None:
    config = write(tmp_path / "a.toml", 'database_url = "sqlite:///x.db"\n[smtp]\nport = 1001\n')
    settings = load_settings(
        config,
        environ={
            "ABUSEDESK_SMTP__PORT": "2026",
            "ABUSEDESK_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "ABUSEDESK_ATTRIBUTION__RELAYS": '["relay1.example", "198.51.100.0/28"]',
            "ABUSEDESK_WEB__SECRET_KEY": "not toml at all",
        },
    )
    assert settings.smtp.port == 2026
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.attribution.relays == ["relay1.example", "198.51.100.0/28"]
    assert settings.web.secret_key == "not toml at all"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[smtp]\nprot = 25\n", {}, "unknown config key 'smtp.prot'"),
        ("colour = 'blue'\n", {}, "unknown config key 'colour'"),
        ("[smtp]\nport = 'abc'\n", {}, "config key 'smtp.port'"),
        ("[smtp]\nport = 70000\n", {}, "config key 'smtp.port'"),
        ("", {"ABUSEDESK_SMTP__PROT": "1"}, "ABUSEDESK_SMTP__PROT: unknown config key 'smtp.prot'"),
        ("", {"ABUSEDESK_SMTP__PORT": "x"}, "ABUSEDESK_SMTP__PORT: config key 'smtp.port'"),
        ("", {"ABUSEDESK_NOPE__PORT": "1"}, "ABUSEDESK_NOPE__PORT: unknown config section 'nope'"),
        ("", {"ABUSEDESK_SMTP": "1"}, "'smtp' is a section"),
        ("", {"ABUSEDESK_DATABASE_URL": "mysql://x"}, "config key 'database_url'"),
        ("[providers]\npeers = ['not-an-ip']\n", {}, "config key 'providers.peers'"),
        ("[smtp\n", {}, "not valid TOML"),
    ],
)
def test_bad_values_are_rejected_with_the_key_name(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    config = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError, match=None) as caught:
        load_settings(config, environ=environ)
    assert message in str(caught.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match="ABUSEDESK_CONFIG"):
        load_settings(environ={"ABUSEDESK_CONFIG": str(tmp_path / "missing.toml")})
