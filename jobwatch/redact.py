"""Hiding secrets in text that leaves the process: error lines, --verbose logs, JSON we print,
files we write. Never applied to the data jobwatch acts on (a state, a URL, a progress)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# A secret this long is hidden wherever it appears in text we show. A shorter one (a test
# server's token "t", "1234") only where a credential stands — after "Bearer", as a query
# value, in a URL's userinfo, after a credential-named key — or every "t" of every message
# would be blanked.
ANYWHERE = 6
_TOKEN_CHAR = r"A-Za-z0-9._~+/=-"


class Redactor:
    """Replaces every known secret value in a text; secrets are registered as they are resolved.
    Header patterns cover "Name: value", "name=value" and httpcore's (b'Name', b'value')."""

    # Each compiled when first needed (see _compiled): most runs never redact a header-shaped
    # text. Each comes with the word it cannot match without, in lower case (see __call__).
    _PATTERNS = (
        ("authorization",
         r"(?i)((?:proxy-)?authorization['\"]?\s*[:=,]\s*b?['\"]?(?:[a-z][\w-]*\s+)?)"
         r"[^'\"\s,)}\]]+"),
        ("cookie", r"(?i)((?:set-)?cookie['\"]?\s*[:=,]\s*b?['\"]?)[^'\"\r\n)}\]]+"),
        ("x-organization-id",
         r"(?i)(x-organization-id['\"]?\s*[:=,]\s*b?['\"]?)[^'\"\s,)}\]]+"),
        ("bearer", r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    )

    def __init__(self, secrets: Iterable[str] = (), *, store: set[str] | None = None) -> None:
        # ``store``: a set shared with whoever must redact after this object is gone (the
        # last-resort error line in __main__, the redacting standard streams).
        self._secrets: set[str] = store if store is not None else set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if len(secret) >= ANYWHERE:
                text = text.replace(secret, "***")
        # Every line of output comes through here (a wait of a thousand jobs writes thousands),
        # so a pattern runs only on a text that holds what it looks for. Only for ASCII text:
        # there lower() finds every spelling the (?i) patterns match; elsewhere they match more
        # than lower() knows (a dotless "ı" is an "i" to them), so every pattern runs.
        lowered = text.lower() if text.isascii() else None
        short = frozenset(s for s in secrets if len(s) < ANYWHERE)
        if short and (lowered is None or any(not s.isascii() or s.lower() in lowered
                                             for s in short)):
            for pattern in _where_credentials_stand(short):
                text = pattern.sub(r"\1***", text)
        for word, source in self._PATTERNS:
            # Substitutions put in only "***": they never make a word appear.
            if lowered is None or word in lowered:
                # The Bearer pattern last, after the headers.
                text = _compiled(source).sub(r"\1***", text)
        return text


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@functools.lru_cache(maxsize=4)
def _where_credentials_stand(secrets: frozenset[str]) -> list[re.Pattern[str]]:
    """Patterns that find one of the short ``secrets`` where a credential stands, as a whole
    value (the start of a longer word is not it)."""
    value = "(?:" + "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)) + ")"
    whole = f"(?![{_TOKEN_CHAR}])"
    return [re.compile(p) for p in (
        rf"(?i)(bearer\s+){value}{whole}",  # Authorization: Bearer t
        rf"([?&;][^=&#\s\"'<>]*=){value}(?![^&#\s\"'<>)\]}},;])",  # ...?api_token=t&...
        rf"(//(?:[^/@\s:]*:)?){value}(?=@)",  # https://t@host, https://user:t@host
        rf"(?i)((?:key|token|secret|auth|session|cookie|signature|password|credential)\w*"
        rf"['\"]?\s*[:=]\s*['\"]?){value}{whole}",  # X-Api-Key: t, "token": "t"
    )]


def redact_url(text: str) -> str:
    """``text`` with the password of any URL in it hidden (a proxy's user:password@)."""
    return re.sub(r"(://[^/@\s:]*:)[^/@\s]*@", r"\1***@", text)


def redact_userinfo(url: str) -> str:
    """One URL value (a base_url) with all that comes before its last @ hidden, scheme kept:
    a password holding / or @, or a URL without a scheme, leaves nothing of itself."""
    if "@" not in url:
        return url
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url)
    return (scheme.group(0) if scheme else "") + "***@" + url.rpartition("@")[2]
