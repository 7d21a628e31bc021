"""Typed configuration, read once at start-up and passed explicitly.

The file is TOML, found by `--config`, then `$ABUSEDESK_CONFIG`, then
`./abusedesk.toml`; without any file the defaults run an embedded instance on
SQLite and loopback ports. Every key can be overridden from the environment:
`ABUSEDESK_<KEY>` for a top-level key, `ABUSEDESK_<SECTION>__<KEY>` inside a
section. Environment values are read as TOML values when they parse as one
(`2525`, `true`, `["a", "b"]`) and as plain strings otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from abusedesk.errors import ConfigError

ENV_PREFIX = "ABUSEDESK_"
CONFIG_ENV = "ABUSEDESK_CONFIG"
DEFAULT_CONFIG_FILE = Path("abusedesk.toml")


def _networks(entries: list[str]) -> list[str]:
    """`entries` unchanged when each is an IP address or CIDR; ValueError naming one if not."""
    for entry in entries:
        ipaddress.ip_network(entry, strict=False)
    return entries


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSettings(Section):
    """The embedded SMTP listener that feedback-loop providers deliver to."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=0, le=65535)
    recipients: list[str] = Field(default_factory=lambda: ["fbl@localhost", "abuse@localhost"])
    """Addresses (or `@domain` for a whole domain) that reports are accepted for."""
    max_message_size: int = Field(default=10 * 1024 * 1024, gt=0)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_connections_per_peer: int = Field(default=20, gt=0)
    max_messages_per_peer_per_minute: int = Field(default=3000, gt=0)
    idle_timeout_seconds: float = Field(default=300.0, gt=0)
    """A session that sends nothing for this long is closed (RFC 5321 4.5.3.2.7: 5 minutes)."""


class ImapAccount(Section):
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    tls: bool = True
    username: str
    password: str
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    provider_feed: bool = False
    """Reports in this mailbox come only from feedback-loop providers: trust them."""


class ImapSettings(Section):
    accounts: list[ImapAccount] = Field(default_factory=list)
    poll_interval_seconds: float = Field(default=60.0, gt=0)


class ProviderSettings(Section):
    """Which senders of reports are trusted feedback-loop providers."""

    peers: list[str] = Field(default_factory=list)
    """IP addresses or CIDRs of providers' sending MTAs."""
    dkim_domains: list[str] = Field(default_factory=list)
    """DKIM `d=` domains whose valid signature on a report marks it as trusted."""

    @field_validator("peers")
    @classmethod
    def _valid_peers(cls, peers: list[str]) -> list[str]:
        return _networks(peers)


class AttributionSettings(Section):
    """The evidence attribution may trust: only what our own relays write."""

    relays: list[str] = Field(default_factory=list)
    """Hostnames, IP addresses and CIDRs of the platform's outbound relays."""
    authenticated_header: str | None = None
    """A header our relays add naming the SASL user, e.g. `X-Authenticated-Sender`."""
    authserv_ids: list[str] = Field(default_factory=list)
    """authserv-ids of our own outbound filter, whose `smtp.auth=` is trusted."""
    provider_networks: list[str] = Field(default_factory=list)
    """Public CIDRs that feedback-loop providers use only between their own hosts
    (Exchange Online's internal hops come from 2603:10b6::/32). A hop from such an
    address continues the provider's chain like a private address does, so list a
    network only if no outside sender can connect from it (docs/attribution.md)."""

    @field_validator("provider_networks")
    @classmethod
    def _valid_provider_networks(cls, networks: list[str]) -> list[str]:
        return _networks(networks)


def packaged_rules() -> Path:
    """The default policy packaged with abusedesk: `abusedesk/rules/default.yaml`.

    It runs when no `[rules] path` is configured, and `abusedesk init` copies it (with
    its scenarios, `default.scenarios.yaml`) for editing. A file on disk, not only a
    resource: the reload watcher, `rules status` and the decisions name it by path.
    """
    # Imported here, not at the top: only building settings pays for importlib.resources.
    from importlib.resources import files

    resource = files("abusedesk").joinpath("rules", "default.yaml")
    if not isinstance(resource, Path):
        raise ConfigError(
            "abusedesk is installed where its files are not on disk (a zip?): "
            "set [rules] path to a rules file"
        )
    return resource


class RulesSettings(Section):
    path: Path = Field(default_factory=packaged_rules)
    """The policy file; by default the one packaged with abusedesk."""
    reload: bool = True

    @property
    def packaged(self) -> bool:
        """True when the policy is the default packaged with abusedesk, not a file of one's own."""
        return self.path == packaged_rules()

    def existing_path(self) -> Path:
        """`path`, which must exist: a configured rules file that is missing is a configuration
        error (exit 78) found before anything is stored, not a policy that silently never runs."""
        if not self.path.is_file():
            raise ConfigError(
                f"[rules] path {self.path}: no such rules file (`abusedesk init` writes an "
                "editable copy of the default policy; without the key the packaged one runs)"
            )
        return self.path


class NoticesSettings(Section):
    smarthost: str = "127.0.0.1"
    smarthost_port: int = Field(default=25, ge=1, le=65535)
    from_address: str = "abuse-desk@localhost"
    platform_abuse_address: str = "abuse@localhost"
    templates_dir: Path | None = None
    max_samples: int = Field(default=3, ge=0, le=10)
    # Delivery: a 4xx or an unreachable smarthost is retried after retry_initial_seconds,
    # doubling up to retry_max_seconds, until give_up_hours have passed; a 5xx fails at once.
    retry_initial_seconds: float = Field(default=60.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    give_up_hours: float = Field(default=72.0, gt=0)
    send_interval_seconds: float = Field(default=5.0, gt=0)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)


class PolicySettings(Section):
    """The Postfix policy service that enforces suspensions."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=10040, ge=0, le=65535)
    reject_action: str = (
        "REJECT 5.7.1 Sending is temporarily disabled for this account. "
        "Please contact your provider."
    )


class WebSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8025, ge=0, le=65535)
    secret_key: str | None = None
    service_token: str | None = None
    trusted_proxies: list[str] = Field(default_factory=list)
    """IP addresses or CIDRs of reverse proxies whose `X-Forwarded-For` names the client.

    None by default: the client is the peer that connected, whatever headers it
    sends, so no local process can choose the address that sign-in limits count
    and the audit trail records."""

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, proxies: list[str]) -> list[str]:
        # In the canonical form: uvicorn would read `10.0.0.1/8` as a literal, not a network.
        return [str(ipaddress.ip_network(entry, strict=False)) for entry in _networks(proxies)]


class WorkerSettings(Section):
    """The processing workers that `abusedesk serve` runs."""

    processes: int = Field(default=1, ge=0, le=64)
    """Worker processes beside the service's own; 0 runs the worker inside the service
    process, where parsing shares one interpreter (and one core) with the listeners."""


class Settings(Section):
    """The whole configuration. Build it with `load_settings`."""

    data_dir: Path = Path("data")
    database_url: str | None = None
    """SQLAlchemy URL; default: a SQLite file in `data_dir`."""
    log_level: str = "INFO"
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    attribution: AttributionSettings = Field(default_factory=AttributionSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    notices: NoticesSettings = Field(default_factory=NoticesSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return url

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'abusedesk.sqlite3').resolve()}"


SECTIONS = frozenset(
    name
    for name, info in Settings.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Section)
)


def find_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The config file to read: `--config`, then `$ABUSEDESK_CONFIG`, then ./abusedesk.toml."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    from_env = environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={from_env}: file does not exist")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(
    explicit: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file and environment overrides into validated `Settings`."""
    env = os.environ if environ is None else environ
    path = find_config_file(explicit, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}); "
                "TOML files are UTF-8"
            ) from exc
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    from_env = _apply_environment(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path, from_env)) from exc


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Overlay `ABUSEDESK_*` variables on `data`; returns which config key came from which."""
    origins: dict[str, str] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        value = _parse_env_value(raw)
        if "__" in key:
            section, _, field = key.partition("__")
            if section not in SECTIONS:
                raise ConfigError(f"{name}: unknown config section {section!r}")
            target = data.setdefault(section, {})
            if not isinstance(target, dict):
                raise ConfigError(f"{name}: {section!r} is not a section")
            target[field] = value
            origins[f"{section}.{field}"] = name
        else:
            if key in SECTIONS:
                raise ConfigError(f"{name}: {key!r} is a section; set {name}__KEY instead")
            data[key] = value
            origins[key] = name
    return origins


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _describe_validation_error(
    exc: ValidationError, path: Path | None, from_env: dict[str, str]
) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        env_name = next(
            (v for k, v in from_env.items() if key == k or key.startswith(k + ".")), None
        )
        where = f"{env_name}: " if env_name else (f"{path}: " if path else "")
        if error["type"] == "extra_forbidden":
            problems.append(f"{where}unknown config key {key!r}")
        else:
            got = error.get("input")
            problems.append(f"{where}config key {key!r}: {error['msg']} (got {got!r})")
    return "; ".join(problems)
