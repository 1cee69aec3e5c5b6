"""Hiding secrets in text that leaves the process: error lines, --verbose logs, JSON we print,
files we write. Never applied to the data jobwatch acts on (a state, a URL, a progress)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable


class Redactor:
    """Replaces every known secret value in a text; secrets are registered as they are resolved.
    Header patterns cover "Name: value", "name=value" and httpcore's (b'Name', b'value')."""

    # Compiled on first use (see _patterns): most runs never redact a header-shaped text.
    _PATTERNS = (
        r"(?i)((?:proxy-)?authorization['\"]?\s*[:=,]\s*b?['\"]?(?:[a-z][\w-]*\s+)?)"
        r"[^'\"\s,)}\]]+",
        r"(?i)((?:set-)?cookie['\"]?\s*[:=,]\s*b?['\"]?)[^'\"\r\n)}\]]+",
        r"(?i)(x-organization-id['\"]?\s*[:=,]\s*b?['\"]?)[^'\"\s,)}\]]+",
        r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+",
    )

    def __init__(self, secrets: Iterable[str] = (), *, store: set[str] | None = None) -> None:
        # ``store``: a set shared with whoever must redact after this object is gone (the
        # last-resort error line in __main__).
        self._secrets: set[str] = store if store is not None else set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 3:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        for pattern in _compiled(self._PATTERNS):
            text = pattern.sub(r"\1***", text)  # the Bearer pattern last, after the headers
        return text


@functools.lru_cache(maxsize=1)
def _compiled(patterns: tuple[str, ...]) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


def redact_url(text: str) -> str:
    """``text`` with the password of any URL in it hidden (a proxy's user:password@)."""
    return re.sub(r"(://[^/@\s:]*:)[^/@\s]*@", r"\1***@", text)
