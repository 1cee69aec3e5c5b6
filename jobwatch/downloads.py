"""Streaming one HTTP body to one file: the bytes as stored, inflated a bounded piece at a time,
retried from the start when cut short.

Knows nothing about providers. Where and how the file lands (safe names, a directory held by
descriptor, NAME.<random>.part renamed into place) is jobwatch.safefs.

A body cut short (fewer bytes than Content-Length, or the connection breaking mid-stream) or
stalled (less than STALL_BYTES in STALL_WINDOW seconds) is treated as transient: the whole file
is fetched again from the start, up to ``attempts`` tries.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch.clock import SYSTEM_CLOCK, Clock
from jobwatch.errors import (
    CertificateError,
    DownloadError,
    DownloadTimeout,
    TransientError,
    UnreachableError,
)
from jobwatch.http import (
    Origin,
    PastDeadline,
    content_encoding,
    describe_exception,
    inflated,
    open_response,
    raise_if_transient,
    reason_phrase,
    retrying,
)
from jobwatch.progress import NULL_PROGRESS, DownloadProgress
from jobwatch.safefs import (
    OpenDir,
    Parts,
    check_component,
    check_target,
    held_dir,
    write_all,
    write_part,
)

if TYPE_CHECKING:
    import httpx

    from jobwatch import httpcore_seam

CHUNK_SIZE = 1 << 20  # the most one chunk can be: the socket read size while a file streams
# Below this much left after h11's first piece, the rest goes through h11 too: the connection
# then sees the end of the body and goes back to the pool (a Claret job's four small CSVs
# share one connection instead of paying four handshakes).
DIRECT_MIN = 1 << 20
# curl's --speed-limit/--speed-time: fewer bytes than this in that many seconds is a stall.
# A server dribbling a byte every few seconds never trips the per-read timeout. Read at call
# time, so a test can lower them.
STALL_BYTES = 1024
STALL_WINDOW = 60.0




def download_file(client: httpx.Client, url: str, directory: Path | OpenDir, name: str, *,
                  credentials: dict[str, str], trusted: Origin, redact: Callable[[str], str],
                  log: Callable[[str], None] | None = None,
                  progress: DownloadProgress = NULL_PROGRESS, attempts: int = 3,
                  sleep: Callable[[float], None] | None = None,
                  deadline: float | None = None,
                  on_retry: Callable[[str, float], None] | None = None,
                  parts: Parts | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    """Stream ``url`` to ``directory/name``; return the bytes written. Raises DownloadError.

    Credentials only go to the ``trusted`` origin (open_response enforces it, redirects
    included). 429/5xx and cut bodies are retried; other non-2xx answers fail at once.
    ``deadline`` (a ``clock`` reading) bounds the retries' waits and the streaming itself;
    ``sleep`` (default ``clock.sleep``) waits between attempts.
    ``on_retry(message, delay)`` is told before each wait between attempts.
    """
    check_component(name)
    if deadline is not None and clock.now() >= deadline:
        raise DownloadTimeout(f"the --timeout passed before {name} was downloaded")
    with held_dir(directory, name) as held:
        check_target(held, name)

        def attempt() -> int:
            return _fetch_once(client, url, held, name, credentials=credentials,
                               trusted=trusted, redact=redact, log=log, progress=progress,
                               deadline=deadline, parts=parts, clock=clock)

        def tell(exc: TransientError, delay: float) -> None:
            if on_retry is not None:
                on_retry(exc.message, delay)

        try:
            return retrying(attempt, attempts=attempts, sleep=sleep or clock.sleep,
                            clock=clock.now, deadline=deadline, on_retry=tell)
        except UnreachableError as exc:
            if isinstance(exc, PastDeadline) or (
                    deadline is not None and clock.now() >= deadline):
                raise DownloadTimeout(exc.message, hint=exc.hint) from None
            if isinstance(exc, CertificateError):
                # A file's failure is reported as one line with no room for a hint, and
                # this one is worth its words: only a setting fixes it.
                raise DownloadError(f"{exc.message}; {exc.hint}", hint=exc.hint) from None
            raise DownloadError(exc.message, hint=exc.hint) from None


def _fetch_once(client: httpx.Client, url: str, held: OpenDir, name: str, *,
                credentials: dict[str, str], trusted: Origin, redact: Callable[[str], str],
                log: Callable[[str], None] | None, progress: DownloadProgress,
                deadline: float | None, parts: Parts | None, clock: Clock) -> int:
    """One attempt: ask, judge the answer, stream its body into a .part of its own."""
    # The body as stored (open_response asks for identity): httpx would inflate each network
    # read whole, so a few KiB of compressed zeros could become gigabytes in memory.
    response = open_response(client, url, credentials=credentials, trusted=trusted,
                             redact=redact, log=log, stream=True)
    try:
        status = response.status_code
        raise_if_transient(response, f"cannot download {redact(url)}: HTTP {status}")
        if not 200 <= status < 300:
            reason = f" {redact(reason_phrase(response))}".rstrip()
            raise DownloadError(f"cannot download {redact(url)}: HTTP {status}{reason}")
        try:
            encoding = content_encoding(response)
        except ValueError as exc:
            raise DownloadError(f"cannot download {redact(url)}: {exc}") from None
        return write_part(
            held, name,
            lambda fd: _stream(response, fd, url=url, label=name, redact=redact,
                               progress=progress, encoding=encoding, deadline=deadline,
                               clock=clock),
            parts,
        )
    finally:
        response.close()


def _stream(response: httpx.Response, fd: int, *, url: str, label: str,
            redact: Callable[[str], str], progress: DownloadProgress,
            encoding: str | None = None, deadline: float | None = None,
            clock: Clock = SYSTEM_CLOCK) -> int:
    import httpx

    announced = _content_length(response)
    # With a Content-Encoding the announced length counts encoded bytes, not what we write.
    progress.start(label, None if encoding else announced)
    raw = _RawBody(response, announced)
    writeback = _Writeback(fd)
    stall = _Stall(clock.now())
    ok = False
    written = 0
    try:
        try:
            for chunk in inflated(raw, encoding):
                write_all(fd, chunk)
                written += len(chunk)
                progress.advance(len(chunk))
                writeback.wrote(written)
                now = clock.now()
                if (deadline is not None and now > deadline
                        and (announced is None or raw.received < announced)):
                    raise DownloadTimeout(f"the --timeout passed while downloading {label}")
                if stall.stalled(raw.received, now):
                    raise TransientError(
                        f"download of {redact(url)} stalled: less than {STALL_BYTES} bytes in "
                        f"{STALL_WINDOW:g}s")
        except httpx.HTTPError as exc:
            raise TransientError(
                f"download of {redact(url)} broke off after {written} bytes "
                f"({describe_exception(exc, redact)})"
            ) from None
        except zlib.error as exc:
            raise DownloadError(f"cannot decode the {encoding} body of {redact(url)}: {exc}"
                                ) from None
        if announced is not None and raw.received != announced:
            raise TransientError(f"download of {redact(url)} cut short: got {raw.received} "
                                 f"of {announced} bytes")
        ok = True
        return written
    finally:
        progress.finish(label, ok)


class _Stall:
    """Whether the body has come slower than STALL_BYTES per STALL_WINDOW; asked after each
    piece (a piece comes at least every read timeout, or the read fails)."""

    def __init__(self, now: float) -> None:
        self.since = now
        self.received = 0

    def stalled(self, received: int, now: float) -> bool:
        if now - self.since < STALL_WINDOW:
            return False
        if received - self.received < STALL_BYTES:
            return True
        self.since, self.received = now, received
        return False


class _RawBody:
    """The body's bytes as they come off the connection, counted.

    For a body of known length (no Transfer-Encoding, which wins over Content-Length) with at
    least DIRECT_MIN left after h11's first piece, only that piece goes through httpx; the
    rest is read straight from the connection (jobwatch.httpcore_seam.direct_reader) into the
    file, and the connection is closed rather than reused. Anything else (chunked, unknown
    length, a small remainder, a connection the seam cannot reach) is read through httpx
    throughout, and the connection goes back to the pool unless the server sent more than
    this answer."""

    def __init__(self, response: httpx.Response, announced: int | None) -> None:
        self.response = response
        self.announced = announced
        self.received = 0

    def __iter__(self) -> Iterator[bytes]:
        from jobwatch import httpcore_seam

        chunks = self.response.iter_raw()
        first = True
        for chunk in chunks:
            self.received += len(chunk)
            yield chunk
            if first and self.announced is not None and (
                    self.announced - self.received >= DIRECT_MIN):
                read = httpcore_seam.direct_reader(self.response)
                if read is not None:
                    # ``chunks`` stays open (closing it would close the connection) until
                    # the direct reads are done and this generator ends.
                    yield from self._direct(read, self.announced)
                    return
            first = False
        httpcore_seam.drop_if_overfed(self.response)

    def _direct(self, read: httpcore_seam.Reader, announced: int) -> Iterator[bytes]:
        remaining = announced - self.received
        while remaining > 0:
            chunk = read(min(CHUNK_SIZE, remaining))
            if not chunk:
                return  # the server hung up: the caller finds the body cut short
            self.received += len(chunk)
            remaining -= len(chunk)
            yield chunk


class _Writeback:
    """Starts the kernel writing a large file to disk while it still streams (Linux's
    fadvise DONTNEED begins writeback of what is written so far without waiting for it), so
    the fsync before the rename has little left to do, and a multi-GiB download does not push
    everything else out of the page cache."""

    EVERY = 8 * CHUNK_SIZE

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.done = 0
        self.enabled = hasattr(os, "posix_fadvise")

    def wrote(self, total: int) -> None:
        if self.enabled and total - self.done >= self.EVERY:
            try:
                os.posix_fadvise(self.fd, self.done, total - self.done, os.POSIX_FADV_DONTNEED)
            except OSError:
                self.enabled = False  # advice only; a filesystem that refuses it loses nothing
            self.done = total


def _content_length(response: httpx.Response) -> int | None:
    """The announced length; None when there is none, or when a Transfer-Encoding makes it
    meaningless (h11 then reads the chunked framing and ignores it)."""
    value = response.headers.get("content-length")
    if (value is None or not value.strip().isdigit()
            or "transfer-encoding" in response.headers):
        return None
    return int(value)
