"""The key that signs console session cookies: `[web] secret_key`, else one kept in the data dir.

A generated key is written once (mode 0600) to `data_dir/web-secret-key` and
read back on every later start, so sign-ins survive a restart. Several nodes
behind one load balancer must share the key: set `[web] secret_key` for them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from abusedesk.errors import ConfigError

SECRET_FILE = "web-secret-key"
MIN_LENGTH = 32


def console_secret(configured: str | None, data_dir: Path) -> bytes:
    if configured is not None:
        if len(configured) < MIN_LENGTH:
            raise ConfigError(
                f"config key 'web.secret_key' must be at least {MIN_LENGTH} characters"
            )
        return configured.encode()
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when two processes start at once, one writes and the other reads its key.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(secrets.token_urlsafe(48))
    try:
        key = path.read_text(encoding="ascii").strip()
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: the console's secret key file is not ASCII text; delete the file"
        ) from exc
    if len(key) < MIN_LENGTH:
        raise ConfigError(f"{path}: the console's secret key is too short; delete the file")
    return key.encode()
