"""Strict, typed readers for settings that come from the environment.

A value that cannot be read as its type stops start-up with a message naming the variable,
rather than quietly running with a surprise. `NAME_FILE` may hold the path of a file whose
contents are the value (for secrets mounted as files).
"""

import os
from pathlib import Path


class EnvError(ValueError):
    pass


def env(name: str, default: str = "") -> str:
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = env(name, "")
    if raw == "":
        return default
    if raw.lower() == "true":
        return True
    if raw.lower() == "false":
        return False
    raise EnvError(f"{name} must be 'true' or 'false', not {raw!r}")


def envint(name: str, default: int) -> int:
    raw = env(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise EnvError(f"{name} must be a whole number, not {raw!r}") from None


def envlist(name: str, default: list[str]) -> list[str]:
    raw = env(name, "")
    if raw == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]
