"""The one HTTP client of a run: retries, backoff, redirects that keep secrets home, redaction.

Credentials (Authorization, X-Organization-ID, a profile's extra headers) are never set on the
client itself: they are added per request, and only when the request goes to the base_url's own
origin. A redirect to another origin is followed without them; https -> http is refused.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from jobwatch import __version__
from jobwatch.errors import UnreachableError

if TYPE_CHECKING:
    import ssl

    import httpx

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP = 300.0
ONE_SHOT_ATTEMPTS = 3  # status, download, a job's detail: then exit 7
MAX_REDIRECTS = 5
USER_AGENT = f"jobwatch/{__version__}"

Origin = tuple[str, str, int]
Log = Callable[[str], None]


class TransientError(UnreachableError):
    """Worth another try: a network error, a timeout, 429/5xx, or a bad answer."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PastDeadline(UnreachableError):
    """Retrying would run past the deadline (a --timeout, or a one-shot command's budget)."""


def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def backoff_delay(failures: int, *, base: float = 0.5, cap: float = 30.0,
                  rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(failures-1))]."""
    ceiling = min(cap, base * (2 ** max(0, failures - 1)))
    return rand() * ceiling


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), capped at 300 s.

    A garbage value gives None, so the caller falls back to its normal backoff.
    """
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        import email.utils  # ~8 ms, only for the rare date form

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, min(RETRY_AFTER_CAP, seconds))


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


class _RedactingFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = ()
        return True


_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
            "httpcore.proxy")


def _install_log_redaction(redact: Redactor) -> None:
    """Filters apply to records logged on that very logger, so each of httpcore's gets one;
    installed once per redactor, however many clients a run makes."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) and f.redact is redact
                   for f in logger.filters):
            logger.addFilter(_RedactingFilter(redact))


def make_client(*, verify: bool | ssl.SSLContext = True, pool_size: int = 10,
                connect_timeout: float = 10.0, read_timeout: float = 30.0,
                redact: Redactor | None = None, proxies_from_env: bool = False) -> httpx.Client:
    """The run's one keep-alive client. It carries no credentials of its own. Pass an
    SSLContext as ``verify``: with True, httpx would read SSL_CERT_FILE itself, or certifi."""
    import httpx

    if redact is not None:
        _install_log_redaction(redact)
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        # None of the four APIs uses cookies; a jar that keeps nothing means a cookie set by
        # the trusted origin can never travel to another port or over plain http.
        cookies=_NoCookies(),
        verify=verify,
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
        follow_redirects=False,
        # httpx 0.28's trust_env means the proxy variables, and SSL_CERT_FILE/DIR when verify
        # is True (jobwatch.trust reads those itself); never .netrc.
        trust_env=proxies_from_env,
    )


def _NoCookies() -> Any:
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def describe_exception(exc: BaseException, redact: Callable[[str], str]) -> str:
    """A one-line description of an httpx error with every secret redacted."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return redact(f"{name}: {text}" if text else name)


def open_response(client: httpx.Client, url: str, *, credentials: dict[str, str],
                  trusted: Origin, redact: Callable[[str], str], log: Log | None = None,
                  stream: bool = False, headers: dict[str, str] | None = None
                  ) -> httpx.Response:
    """GET ``url``, following redirects by hand so credentials only reach the trusted origin.
    ``headers`` go to every origin.

    Network errors and timeouts become TransientError. The caller closes a streamed response.
    """
    import httpx

    for _ in range(MAX_REDIRECTS + 1):
        try:
            origin = origin_of(url)
            request = client.build_request(
                "GET", url, headers={**(headers or {}),
                                     **(credentials if origin == trusted else {})})
        except (ValueError, httpx.InvalidURL):
            # A malformed artifact URL or Location header (bad port, bad IPv6 literal, ...).
            raise UnreachableError(f"invalid URL: {redact(url)}") from None
        if origin[0] not in ("http", "https"):
            raise UnreachableError(f"refusing to fetch a non-http URL: {redact(url)}")
        started = time.monotonic()
        try:
            response = client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            _log(log, redact, url, describe_exception(exc, redact), started)
            raise TransientError(f"timed out talking to {redact(_host(url))}") from None
        except httpx.HTTPError as exc:
            _log(log, redact, url, describe_exception(exc, redact), started)
            raise TransientError(
                f"cannot reach {redact(_host(url))} ({describe_exception(exc, redact)})"
            ) from None
        _log(log, redact, url, str(response.status_code), started)
        if response.is_redirect and "location" in response.headers:
            target = urljoin(url, response.headers["location"])
            response.close()
            if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
                raise UnreachableError(
                    f"refusing a redirect from https to {redact(target)}",
                    hint="jobwatch never downgrades https to plain http",
                )
            url = target
            continue
        if not stream:
            try:
                response.read()
            except httpx.HTTPError as exc:
                response.close()
                raise TransientError(
                    f"connection broke while reading from {redact(_host(url))} "
                    f"({describe_exception(exc, redact)})"
                ) from None
            finally:
                response.close()
        return response
    raise UnreachableError(f"too many redirects fetching {redact(url)}")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _log(log: Log | None, redact: Callable[[str], str], url: str, outcome: str,
         started: float) -> None:
    if log is not None:
        ms = (time.monotonic() - started) * 1000
        log(redact(f"GET {url} {outcome} {ms:.0f}ms"))


def retrying(call: Callable[[], Any], *, attempts: int, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic, deadline: float | None = None,
             on_retry: Callable[[TransientError, float], None] | None = None) -> Any:
    """Run ``call`` until it succeeds, retrying TransientError up to ``attempts`` tries in all.

    Waits honour Retry-After (already capped at 300 s) and never run past ``deadline``.
    """
    failures = 0
    while True:
        try:
            return call()
        except TransientError as exc:
            failures += 1
            if deadline is not None and clock() >= deadline:
                raise PastDeadline(f"{exc.message} (no time left for another attempt)",
                                   hint=exc.hint) from None
            if failures >= attempts:
                raise UnreachableError(
                    f"{exc.message} (gave up after {failures} attempts)",
                    hint=exc.hint or "check the base_url and the provider's status; "
                    "--verbose shows each request",
                ) from None
            delay = exc.retry_after if exc.retry_after is not None else backoff_delay(failures)
            if deadline is not None:
                left = max(0.0, deadline - clock())
                if exc.retry_after is not None and exc.retry_after > left:
                    # Asking again before the provider said to is pointless; say so now.
                    raise PastDeadline(
                        f"{exc.message}, and asks to retry in {exc.retry_after:.0f}s: more "
                        f"than the {left:.0f}s left", hint=exc.hint) from None
                delay = min(delay, left)
            if on_retry is not None:
                on_retry(exc, delay)
            sleep(delay)
