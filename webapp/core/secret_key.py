"""The secret key of a run without SECRET_KEY: made once per checkout, kept in var/, never a known default."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def secret_key_load_or_create(path: Path) -> str:
    """The key stored at `path`, or a new random one written there first (mode 0600).

    Many processes start at once (web workers, Celery): the key is written to a private temporary file
    and linked into place, which fails for all but the first, so every process ends up with the same key.
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(64) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process was first: use its key
    finally:
        temporary.unlink()
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 50:
        raise RuntimeError(f"{path} holds no usable secret key; delete it to have a new one made.")
    return key
