"""The one HTTP client of a run: retries, backoff, redirects that keep secrets home, redaction.

Credentials (Authorization, X-Organization-ID, a profile's extra headers) are never set on the
client itself: they are added per request, and only when the request goes to the base_url's own
origin. A redirect to another origin is followed without them; https -> http is refused.

(Over 500 lines on purpose: the redirect, retry and answer-reading rules each guard a way a
server can leak a secret or hang a run, and they share the request loop; the raw httpcore/h11
access lives apart, in jobwatch.httpcore_seam.)
"""

from __future__ import annotations

import functools
import logging
import os
import random
import re
import time
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from jobwatch import __version__
from jobwatch.errors import (
    RETRY_AFTER_CAP,
    CertificateError,
    ConfigError,
    TransientError,
    UnreachableError,
)
from jobwatch.redact import Redactor, redact_url

if TYPE_CHECKING:
    import ssl

    import httpx

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
ONE_SHOT_ATTEMPTS = 3  # status, download, a job's detail: then exit 7
MAX_REDIRECTS = 5
USER_AGENT = f"jobwatch/{__version__}"
# An API answer (a status, a detail, config check's probe) past either bound is "answering
# badly": a job's status is a few KiB, and a server that trickles a byte at a time, or sends a
# compressed gigabyte, must neither hang a run nor fill its memory. Read at call time, so a test
# can lower them.
API_BODY_LIMIT = 8 << 20
API_TIME_LIMIT = 60.0
INFLATE_PIECE = 1 << 20  # the most compressed input inflates to at once
UNREACHABLE_HINT = "check the base_url and the provider's status"
# A failure through a proxy from the environment: the proxy is the first suspect.
PROXY_HINT = "check that proxy, or exempt the host with NO_PROXY"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                   "all_proxy")
# The encodings undone here; anything else was not asked for (we send Accept-Encoding: identity).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_WIRE_FRAMING = (b"content-encoding", b"content-length", b"transfer-encoding")

Origin = tuple[str, str, int]
Log = Callable[[str], None]
T = TypeVar("T")


class PastDeadline(UnreachableError):
    """Retrying would run past the deadline (a --timeout, or a one-shot command's budget)."""


# OpenSSL's X509_V_ERR_* codes that another setting than the trusted CAs fixes.
_NAME_MISMATCH = frozenset({62, 63, 64})  # host name, e-mail, IP address
_OUT_OF_DATE = frozenset({9, 10})  # not yet valid, expired
CA_HINT = ('if the provider uses a private CA, set verify = "/path/to/ca.pem" in its profile '
           "(or JOBWATCH_<PROVIDER>_VERIFY), or SSL_CERT_FILE")


@functools.lru_cache(maxsize=256)  # the same status URLs, at every poll
def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def backoff_delay(failures: int, *, base: float = 0.5, cap: float = 30.0,
                  rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(failures-1))]."""
    ceiling = min(cap, base * 2.0 ** max(0, failures - 1))
    return float(rand()) * ceiling


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


class _RedactingFilter(logging.Filter):
    """One per logger for the whole process, applying the Redactor of every client alive:
    in-process runs (tests, the demo's second Runtime) each register theirs, and it leaves
    with its client, so neither filters nor redactors ever pile up."""

    def __init__(self) -> None:
        super().__init__()
        self.redactors: weakref.WeakKeyDictionary[Any, Callable[[str], str]] = (
            weakref.WeakKeyDictionary())

    def filter(self, record: logging.LogRecord) -> bool:
        redactors = list(self.redactors.values())
        if redactors:
            text = record.getMessage()
            for redact in redactors:
                text = redact(text)
            record.msg = text
            record.args = ()
        return True


_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
            "httpcore.proxy")
_LOG_FILTER = _RedactingFilter()


def _install_log_redaction(client: httpx.Client, redact: Redactor) -> None:
    """Filters apply to records logged on that very logger, so each of httpcore's gets the
    one filter; ``redact`` applies for as long as ``client`` lives."""
    _LOG_FILTER.redactors[client] = redact
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


def make_client(*, verify: bool | ssl.SSLContext = True, pool_size: int = 10,
                redact: Redactor | None = None, proxies_from_env: bool = False
                ) -> httpx.Client:
    """The run's one keep-alive client. It carries no credentials of its own. Pass an
    SSLContext as ``verify``: with True, httpx would read SSL_CERT_FILE itself, or certifi.

    A proxy variable httpx cannot use (a socks:// proxy without socksio, an ftp:// one, a
    malformed URL) is a configuration error naming the proxy variables that are set."""
    import httpx

    try:
        client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            # None of the four APIs uses cookies; a jar that keeps nothing means a cookie set
            # by the trusted origin can never travel to another port or over plain http.
            cookies=_NoCookies(),
            verify=verify,
            timeout=httpx.Timeout(30.0, connect=10.0),  # per read; API_TIME_LIMIT in all
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
            follow_redirects=False,
            event_hooks={"response": [set_location_aside]},
            # httpx 0.28's trust_env means the proxy variables, and SSL_CERT_FILE/DIR when
            # verify is True (jobwatch.trust reads those itself); never .netrc.
            trust_env=proxies_from_env,
        )
    except (ImportError, ValueError, httpx.InvalidURL) as exc:
        if not proxies_from_env:
            raise
        # httpx read os.environ, whatever environment the run was given.
        shown = ", ".join(f"{name}={redact_url(os.environ[name])}" for name in PROXY_VARIABLES
                          if os.environ.get(name)) or "a proxy variable"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        hint = ("install httpx[socks] for a socks:// proxy, or unset it" if
                isinstance(exc, ImportError) else "give an http:// or https:// proxy URL, "
                "or unset it")
        raise ConfigError(f"cannot use the proxy from {shown}: {redact_url(reason)}",
                          hint=hint) from None
    if redact is not None:
        _install_log_redaction(client, redact)
    from jobwatch import httpcore_seam

    httpcore_seam.offer_no_cookies(client, client.cookies.jar)
    return client


# Where set_location_aside keeps a 3xx answer's Location, as the bytes that came.
LOCATION = "jobwatch.location"


def set_location_aside(response: httpx.Response) -> None:
    """A response hook: takes Location out of httpx's sight. httpx parses it inside send()
    even with follow_redirects=False, and one that is not a URL raises there: a
    RemoteProtocolError (retried as if the network had failed) or, for `javascript:x`, an
    InvalidURL, which is no HTTPError (exit 70). jobwatch follows redirects itself
    (redirect_target), reading the value from the response's extensions."""
    values = [value for key, value in response.headers.raw if key.lower() == b"location"]
    if values:
        del response.headers["location"]
        response.extensions[LOCATION] = values[0]


def _NoCookies() -> Any:
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def describe_exception(exc: BaseException, redact: Callable[[str], str]) -> str:
    """A one-line description of an httpx error with every secret redacted."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return redact(f"{name}: {text}" if text else name)


def env_proxy(url: str) -> str | None:
    """The proxy httpx takes from the environment for ``url``, password hidden; None for
    none. httpx's rule: the scheme's variable, else ALL_PROXY; NO_PROXY exempts hosts. For
    messages only ("cannot reach ... via proxy ..."): a dead proxy is not a dead provider."""
    from urllib.request import (  # type: ignore[attr-defined]  # not in typeshed
        getproxies,
        proxy_bypass_environment,
    )

    proxies = getproxies()
    parts = urlsplit(url)
    if "*" in (h.strip() for h in proxies.get("no", "").split(",")):
        return None
    if parts.hostname and proxy_bypass_environment(parts.hostname, proxies):
        return None
    found = proxies.get(parts.scheme) or proxies.get("all")
    if not found:
        return None
    return redact_url(found if "://" in found else f"http://{found}")


def raise_if_transient(response: httpx.Response, message: str) -> None:
    """429 and the 5xx worth another try become TransientError(message), with the answer's
    Retry-After."""
    if response.status_code in TRANSIENT_STATUS:
        raise TransientError(message,
                             retry_after=parse_retry_after(response.headers.get("retry-after")))


def open_response(client: httpx.Client, url: str, *, credentials: dict[str, str],
                  trusted: Origin, redact: Callable[[str], str], log: Log | None = None,
                  stream: bool = False, time_limit: float | None = None) -> httpx.Response:
    """GET ``url``, following redirects by hand so credentials only reach the trusted origin.
    The body is asked for as stored (Accept-Encoding:
    identity), so no network read can inflate to gigabytes inside httpx.

    Without ``stream``, the answer is read whole, within API_BODY_LIMIT bytes and
    ``time_limit`` seconds (API_TIME_LIMIT by default) from the request on; past either it is a
    TransientError. Network errors and timeouts are TransientError too. The caller closes a
    streamed response.
    """
    import httpx

    for _ in range(MAX_REDIRECTS + 1):
        try:
            origin = origin_of(url)
            request = client.build_request(
                "GET", url, headers={"Accept-Encoding": "identity",
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
            via = _via(client, url)
            _log(log, redact, url, describe_exception(exc, redact) + via, started)
            raise TransientError(f"timed out talking to {redact(_host(url))}{via}",
                                 hint=PROXY_HINT if via else None) from None
        except httpx.HTTPError as exc:
            via = _via(client, url)
            _log(log, redact, url, describe_exception(exc, redact) + via, started)
            _raise_if_certificate(exc, url, redact)
            raise TransientError(
                f"cannot reach {redact(_host(url))}{via} ({describe_exception(exc, redact)})",
                hint=PROXY_HINT if via else None) from None
        except httpx.InvalidURL as exc:
            # A Location httpx could not parse, on a client without set_location_aside.
            raise UnreachableError(f"{redact(_host(url))} answered a redirect jobwatch cannot "
                                   f"follow ({describe_exception(exc, redact)})") from None
        if log is not None:
            _log(log, redact, url, str(response.status_code), started)
        if 300 <= response.status_code < 400:
            try:
                url = redirect_target(url, response, redact)
            finally:
                response.close()
            continue
        if stream:
            return response
        limit = API_TIME_LIMIT if time_limit is None else time_limit
        return _read_answer(response, url, redact, started + limit, limit)
    raise UnreachableError(f"too many redirects fetching {redact(url)}")


def _raise_if_certificate(exc: BaseException, url: str, redact: Callable[[str], str]) -> None:
    """CertificateError if a failed TLS certificate check lies under ``exc`` (httpx wraps
    httpcore's error, which wraps the ssl module's)."""
    import ssl

    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None or isinstance(cause, ssl.SSLCertVerificationError):
            break
        cause = cause.__cause__ or cause.__context__
    if not isinstance(cause, ssl.SSLCertVerificationError):
        return
    reason = (cause.verify_message or cause.reason or "it does not verify").rstrip(".")
    raise CertificateError(f"the TLS certificate of {redact(_host(url))} does not verify: "
                           f"{redact(reason)}", hint=_certificate_hint(cause.verify_code)
                           ) from None


def _certificate_hint(code: int | None) -> str:
    if code in _NAME_MISMATCH:
        return ("the certificate is for another host: give base_url the host name it names "
                "(verify = false would trust an impostor too)")
    if code in _OUT_OF_DATE:
        return "check this machine's clock; if it is right, the provider must renew it"
    return CA_HINT


def redirect_target(url: str, response: httpx.Response, redact: Callable[[str], str]) -> str:
    """Where a 3xx answer to ``url`` sends us, or UnreachableError saying why it cannot be
    followed. Every 3xx is taken as a redirect, as httpx 0.28 does: without a usable Location
    there is nothing to do with it, and "answered HTTP 301: " told nobody that."""
    status = response.status_code
    where = f"{redact(_host(url))} answered HTTP {status}"
    location = _location(response)
    if location is None:
        raise UnreachableError(f"{where} without a Location to follow")
    if not location.strip():
        raise UnreachableError(f"{where} with an empty Location")
    shown = _shown_location(location, redact)
    try:
        target = urljoin(url, location.strip())
        parts = urlsplit(target)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise UnreachableError(f"{where} with a Location that is not a URL: {shown}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnreachableError(f"{where} redirecting to a {scheme or 'schemeless'} URL, which "
                               f"jobwatch does not follow: {shown}")
    if not parts.hostname:
        raise UnreachableError(f"{where} with a Location that names no host: {shown}")
    if urlsplit(url).scheme == "https" and scheme != "https":
        raise UnreachableError(f"refusing a redirect from https to {redact(target)}",
                               hint="jobwatch never downgrades https to plain http")
    return target


def _location(response: httpx.Response) -> str | None:
    raw = response.extensions.get(LOCATION)
    if raw is None:  # a client not made by make_client: httpx has read it already
        location: str | None = response.headers.get("location")
        return location
    return decoded(raw)


def decoded(value: bytes) -> str:
    """Header bytes as text: UTF-8 where they are, else Latin-1 (which every byte is)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def reason_phrase(response: httpx.Response) -> str:
    """The status line's reason as sent (httpx drops every byte outside ASCII from it);
    the one exit point makes any control in it a space."""
    raw = response.extensions.get("reason_phrase", b"")
    return decoded(raw).strip() if isinstance(raw, bytes) else ""


def _shown_location(location: str, redact: Callable[[str], str]) -> str:
    """A Location header as a message may quote it: bounded, its secrets hidden. (The one exit
    point turns control characters into spaces.)"""
    cut = location if len(location) <= 200 else location[:200] + "…"
    return repr(redact(cut))


def _via(client: httpx.Client, url: str) -> str:
    return f" via proxy {proxy}" if client.trust_env and (proxy := env_proxy(url)) else ""


def _read_answer(response: httpx.Response, url: str, redact: Callable[[str], str],
                 deadline: float, limit: float) -> httpx.Response:
    """The answer with its body read, inflated if the server compressed it anyway, within
    API_BODY_LIMIT and the deadline (checked between reads: a server dribbling a byte every few
    seconds never trips the per-read timeout).

    This runs for every poll, so the common answer (a few KiB, as stored) costs little: no
    copy of the response, and the host is worked out for a message only when there is one."""
    import httpx

    from jobwatch import httpcore_seam

    encoding = None
    try:
        encoding = content_encoding(response)
        body = _bounded_body(response, encoding, url, redact, deadline, limit)
        httpcore_seam.drop_if_overfed(response)
    except httpx.HTTPError as exc:
        raise TransientError(f"connection broke while reading from {_where(url, redact)} "
                             f"({describe_exception(exc, redact)})") from None
    except ValueError as exc:
        raise TransientError(f"{_where(url, redact)} answered a body jobwatch cannot read: "
                             f"{exc}") from None
    except zlib.error as exc:
        raise TransientError(f"{_where(url, redact)} sent a {encoding} body that does not "
                             f"decode ({exc})") from None
    finally:
        response.close()
    if encoding is None:
        # The body as it came: the answer's own headers still describe it.
        return httpcore_seam.with_body(response, body)
    # Inflated: what the wire said about length and encoding no longer describes ``body``.
    # The headers are carried over as the bytes that came (``raw``): httpx decodes a non-ASCII
    # value (`X-Served-By: café`) for reading, but would encode the decoded text back as ASCII.
    kept = [(k, v) for k, v in response.headers.raw if k.lower() not in _WIRE_FRAMING]
    return httpx.Response(response.status_code, headers=kept, content=body,
                          request=response.request, extensions=response.extensions)


def _bounded_body(response: httpx.Response, encoding: str | None, url: str,
                  redact: Callable[[str], str], deadline: float, limit: float) -> bytes:
    pieces = response.iter_raw() if encoding is None else inflated(response.iter_raw(),
                                                                   encoding)
    chunks: list[bytes] = []
    size = 0
    for piece in pieces:
        chunks.append(piece)
        size += len(piece)
        if size > API_BODY_LIMIT:
            raise TransientError(f"{_where(url, redact)} answered more than "
                                 f"{API_BODY_LIMIT >> 20} MiB, far more than a job's status")
        if time.monotonic() > deadline:
            raise TransientError(f"{_where(url, redact)} took more than {limit:.0f}s to answer")
    return b"".join(chunks)  # one piece, the common case, is not copied


def _where(url: str, redact: Callable[[str], str]) -> str:
    """The host a message names (redaction costs a few regular expressions: only for one)."""
    return redact(_host(url))


def content_encoding(response: httpx.Response) -> str | None:
    """None for a body as stored; "gzip" or "deflate" for one Inflater undoes. Anything else
    (br, zstd, a chain of several) we did not ask for and cannot bound: ValueError."""
    value = str(response.headers.get("content-encoding", "")).strip().lower()
    if value in ("", "identity"):
        return None
    if value in _WBITS:
        return value
    raise ValueError(f"it came with Content-Encoding {value!r}, which jobwatch does not decode")


def inflated(raw: Iterable[bytes], encoding: str | None) -> Iterator[bytes]:
    """``raw`` undone from ``encoding``, at most INFLATE_PIECE bytes per piece."""
    if encoding is None:
        yield from raw
        return
    inflater = Inflater(encoding)
    for chunk in raw:
        yield from inflater.feed(chunk)
    yield from inflater.end()


class Inflater:
    """gzip or deflate undone at most INFLATE_PIECE bytes at a time, so memory stays flat
    however far the body inflates (a decompression bomb only makes a large file, or an answer
    past API_BODY_LIMIT, never a large piece)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.decoder: Any = None  # made once the first two bytes tell zlib from raw deflate
        self.head = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.decoder is None:
            self.head += data
            if len(self.head) < 2:
                return
            self.decoder = zlib.decompressobj(self._wbits(self.head))
            data, self.head = self.head, b""
        while data and not self.decoder.eof:
            out = self.decoder.decompress(data, INFLATE_PIECE)
            data = self.decoder.unconsumed_tail
            if out:
                yield out

    def end(self) -> Iterator[bytes]:
        if self.decoder is None:
            if self.head:
                raise zlib.error("the body is too short to be compressed data")
            return  # an empty body is an empty file, whatever its encoding
        # All input is consumed by now, so what zlib still holds is at most a back-reference.
        tail = self.decoder.flush()
        if tail:
            yield tail
        if not self.decoder.eof:
            raise TransientError(f"the {self.encoding} stream ended early")

    def _wbits(self, head: bytes) -> int:
        wbits = _WBITS[self.encoding]
        # RFC 9110's deflate has a zlib header, but some servers send raw deflate, which
        # browsers and curl accept too.
        if self.encoding == "deflate" and not _zlib_header(head):
            return -zlib.MAX_WBITS
        return wbits


def _zlib_header(head: bytes) -> bool:
    return head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _log(log: Log | None, redact: Callable[[str], str], url: str, outcome: str,
         started: float) -> None:
    if log is not None:
        ms = (time.monotonic() - started) * 1000
        log(redact(f"GET {url} {outcome} {ms:.0f}ms"))


def retrying(call: Callable[[], T], *, attempts: int, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic, deadline: float | None = None,
             on_retry: Callable[[TransientError, float], None] | None = None,
             hint: str = UNREACHABLE_HINT + "; --verbose shows each request") -> T:
    """Run ``call`` until it succeeds, retrying TransientError up to ``attempts`` tries in all.

    Waits honour Retry-After (already capped at 300 s) and never run past ``deadline``.
    ``hint`` goes with the final error when the last failure brought none of its own.
    """
    failures = 0
    while True:
        try:
            return call()
        except TransientError as exc:
            failures += 1
            if deadline is not None and clock() >= deadline:
                raise PastDeadline(f"{exc.message}; no time left for another attempt",
                                   hint=exc.hint) from None
            if failures >= attempts:
                raise UnreachableError(f"{exc.message}; gave up after {failures} attempts",
                                       hint=exc.hint or hint) from None
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


def unreachable_hint(verbose: bool) -> str:
    """The hint for a provider that kept failing; --verbose is suggested only when not on."""
    return UNREACHABLE_HINT if verbose else UNREACHABLE_HINT + "; --verbose shows each request"
