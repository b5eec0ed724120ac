"""Where the JWT signing key comes from.

Production must set `JWT__SECRET_KEY`. Elsewhere an empty key means "generate one once
and keep it in the data directory" (mode 0600), so `make run` works with no set-up and
tokens survive a restart.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from domain.errors import ConfigurationError


def resolve_secret_key(configured: str, environment: str, data_dir: str) -> str:
    if configured:
        return configured
    if environment == "production":
        raise ConfigurationError(
            "Invalid setting JWT__SECRET_KEY: required in production (32+ characters).",
            details={"variable": "JWT__SECRET_KEY"},
        )
    path = Path(data_dir) / "jwt_secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
