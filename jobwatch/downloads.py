"""Safe streaming downloads: names that cannot escape DIR, NAME.part + rename, no planted symlinks.

Knows nothing about providers. A file is streamed to ``NAME.part`` (created O_EXCL|O_NOFOLLOW,
mode 0600), fsynced, given the usual mode and renamed over ``NAME`` only once it is complete, so
an existing ``NAME`` survives a failed download and nothing half-written is ever left behind.

Directories are walked and held by file descriptor: every level below DIR is opened O_NOFOLLOW
relative to its parent, and the .part is created, renamed and removed relative to the held
directory. Swapping a directory for a symlink while a file downloads therefore changes nothing.

A body cut short (fewer bytes than Content-Length, or the connection breaking mid-stream) is
treated as transient: the whole file is fetched again from the start, up to ``attempts`` tries.
"""

from __future__ import annotations

import os
import stat
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from jobwatch.errors import DownloadError, DownloadTimeout, UnreachableError
from jobwatch.http import (
    TRANSIENT_STATUS,
    Origin,
    PastDeadline,
    TransientError,
    describe_exception,
    open_response,
    parse_retry_after,
    retrying,
)

if TYPE_CHECKING:
    import httpx

CHUNK_SIZE = 1 << 20  # the most one chunk can be: the socket read size while a file streams
PART_SUFFIX = ".part"
NAME_MAX = 255  # bytes in one file name on ext4, XFS, btrfs, tmpfs and APFS

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
# Unicode categories a file name may not hold. Cf covers the bidi overrides and isolates (which
# make a name display as something else) and the invisible ones (U+200B, U+FEFF, U+00AD) that
# make "errors.csv" and "errors\u200b.csv" look alike; Cs cannot even be encoded.
_REFUSED_CATEGORIES = {
    "Cc": "a control character", "Zl": "a control character", "Zp": "a control character",
    "Cf": "an invisible formatting character", "Cs": "a lone surrogate",
    "Co": "a private-use character", "Cn": "an unassigned character",
}
# Slashes NFKC leaves alone: "..∕..∕etc" would still read as a path in a listing.
_SLASH_LOOKALIKES = frozenset("\u2044\u2215\u2216\u29f8\u29f9")
# The encodings undone here; anything else was not asked for (we send Accept-Encoding: identity).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class DownloadProgress(Protocol):
    """Download progress callbacks. ``start``/``finish`` bracket each attempt (a retry starts
    again); ``advance`` is called once per chunk written, with its size in bytes."""

    def start(self, label: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self, label: str, ok: bool) -> None: ...


class NullProgress:
    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def finish(self, label: str, ok: bool) -> None:
        pass


NULL_PROGRESS = NullProgress()  # stateless, so one shared instance is a safe default


class OpenDir:
    """A directory held by file descriptor, with its path for messages. Files are created,
    renamed and removed relative to ``fd``: whatever later happens to ``path`` (a component
    swapped for a symlink), ``fd`` still names the directory that was checked."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OpenDir:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Parts:
    """The .part files being written right now. Downloads run in worker threads; when a watch
    stops (Ctrl-C, --timeout, --fail-fast) the engine gives them a moment, then the main thread
    calls remove_all() before the process exits, whatever a worker is still blocked on. After
    that no new .part can be created."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._live: dict[int, tuple[int, str]] = {}
        self._next = 0
        self._closed = False

    def add(self, dir_fd: int, name: str) -> int:
        with self._lock:
            if self._closed:
                raise DownloadError(f"the watch stopped before {name} was written")
            self._next += 1
            self._live[self._next] = (os.dup(dir_fd), name)  # ours: the caller closes its own
            return self._next

    def alive(self, key: int) -> bool:
        with self._lock:
            return key in self._live

    def discard(self, key: int) -> None:
        with self._lock:
            entry = self._live.pop(key, None)
        if entry is not None:
            os.close(entry[0])

    def remove_all(self) -> None:
        with self._lock:
            self._closed = True
            entries, self._live = list(self._live.values()), {}
        for dir_fd, name in entries:
            try:
                os.unlink(name, dir_fd=dir_fd)
            except OSError:
                pass  # never created, or already renamed into place
            os.close(dir_fd)


def check_component(name: str) -> str:
    """Return ``name`` if it is usable as one path component, else raise DownloadError."""
    if name in ("", ".", ".."):
        raise DownloadError(f"refusing unsafe file name {name!r}")
    if "/" in name or "\\" in name:
        raise DownloadError(f"refusing file name with a path separator: {name!r}")
    if not _SLASH_LOOKALIKES.isdisjoint(name):
        raise DownloadError(f"refusing file name with a look-alike of a path separator: {name!r}")
    for char in name:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind is not None:
            raise DownloadError(f"refusing file name with {kind}: {name!r}")
    # Look-alikes: "．．" and "..／x" read as ".." and "../x" in a listing, and become them in
    # any tool that normalizes names.
    folded = unicodedata.normalize("NFKC", name)
    if folded != name and (not folded.strip(".") or "/" in folded or "\\" in folded):
        raise DownloadError(f"refusing file name that reads as {folded!r}: {name!r}")
    return name


def safe_file_name(url_or_path: str) -> str:
    """The last path segment of a URL or path, percent-decoded, refused if it could escape DIR.

    Decoding comes first: ``%2e%2e%2fx`` is ``../x``, which is refused rather than cut to ``x``.
    """
    try:
        path = urlsplit(url_or_path).path
    except ValueError:
        raise DownloadError("refusing a malformed URL as a file name source") from None
    segment = path.rsplit("/", 1)[-1]
    try:
        name = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise DownloadError(f"refusing file name that is not valid UTF-8: {segment!r}") from None
    return check_component(name)


def open_safe_dir(root: Path, *components: str) -> OpenDir:
    """Create ``root/components...`` one level at a time and return the last one held open.

    ``root`` itself may be created with its parents (and may be a symlink the user made); each
    component below it is checked, created and opened relative to its parent's descriptor,
    never through a symlink, so no path lookup can be redirected after the check.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass  # something that is not a directory: opening it below says what
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot create {root}: {_reason(exc)}") from None
    try:
        held = OpenDir(root, os.open(root, _DIR_FLAGS))
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write into {root}: {_reason(exc)}") from None
    try:
        for component in components:
            child = _open_child(held, check_component(component))
            held.close()
            held = child
    except BaseException:
        held.close()
        raise
    return held


def safe_dir(root: Path, *components: str) -> Path:
    """Like open_safe_dir, for a caller that only needs the path (it is closed again)."""
    with open_safe_dir(root, *components) as held:
        return held.path


def _open_child(parent: OpenDir, name: str) -> OpenDir:
    path = parent.path / name
    try:
        os.mkdir(name, 0o777, dir_fd=parent.fd)
    except FileExistsError:
        pass
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot create {path}: {_reason(exc)}") from None
    try:
        return OpenDir(path, os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent.fd))
    except (OSError, ValueError) as exc:
        try:
            mode = _lstat_mode(parent, name)
        except (OSError, ValueError):
            mode = None
        if mode is not None and stat.S_ISLNK(mode):
            raise DownloadError(f"refusing to write through a symlink: {path}",
                                hint="remove the symlink or choose another --download-dir"
                                ) from None
        if mode is not None and not stat.S_ISDIR(mode):
            raise DownloadError(f"cannot create {path}: it exists and is not a directory"
                                ) from None
        raise DownloadError(f"cannot create {path}: {_reason(exc)}") from None


@contextmanager
def _held(directory: Path | OpenDir, name: str) -> Iterator[OpenDir]:
    """``directory`` as an OpenDir: borrowed if it is one, else opened for the duration (the
    caller vouches for that path, which may be a symlink the user made)."""
    if isinstance(directory, OpenDir):
        yield directory
        return
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write {directory / name}: {_reason(exc)}") from None
    with OpenDir(directory, fd) as held:
        yield held


def write_atomically(directory: Path | OpenDir, name: str, write: Callable[[int], int],
                     parts: Parts | None = None) -> int:
    """Create ``directory/name`` through ``name.part``: ``write(fd)`` fills it and returns the
    byte count; then fsync, usual mode, rename. On any failure or interruption the .part is
    removed and the error re-raised; OSError becomes DownloadError with the OS's reason.
    """
    check_component(name)
    with _held(directory, name) as held:
        _prepare_targets(held, name)
        return _write_part(held, name, write, parts)


def _write_part(held: OpenDir, name: str, write: Callable[[int], int],
                parts: Parts | None = None) -> int:
    """The part of write_atomically after _prepare_targets. Whatever appeared at the .part name
    since then (a symlink planted while the request was on its way) is refused by O_EXCL and
    O_NOFOLLOW, never written through."""
    final = held.path / name
    part = _part_name(name) or _short_part_name()
    fd: int | None = None
    created = False
    committed = False
    key = parts.add(held.fd, part) if parts is not None else None
    try:
        fd = os.open(part, _OPEN_FLAGS, 0o600, dir_fd=held.fd)
        created = True
        if key is not None and not parts.alive(key):  # type: ignore[union-attr]
            raise DownloadError(f"the watch stopped before {name} was written")
        written = write(fd)
        os.fsync(fd)
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)
        fd = None
        _refuse_symlink_or_dir(held, name)  # planted while we were downloading?
        os.replace(part, name, src_dir_fd=held.fd, dst_dir_fd=held.fd)
        committed = True
        _fsync_dir(held.fd)
        return written
    except FileExistsError:
        # O_EXCL lost a race: something appeared at the .part name after we checked. Not ours.
        raise DownloadError(f"refusing to write {final}: {part} appeared meanwhile") from None
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write {final}: {_reason(exc)}") from None
    finally:
        if fd is not None:
            os.close(fd)
        if created and not committed:
            try:
                os.unlink(part, dir_fd=held.fd)
            except OSError:
                pass  # the error already on its way up says more than a failed cleanup would
        if key is not None:
            parts.discard(key)  # type: ignore[union-attr]


def _short_part_name() -> str:
    import secrets  # only for the rare long name: hmac and friends cost every start ~3 ms

    return f".jobwatch-{secrets.token_hex(8)}{PART_SUFFIX}"


def _part_name(name: str) -> str | None:
    """``NAME.part``, or None when that is longer than a file name may be while NAME itself
    fits: the caller then uses a short random name in the same directory (the rename must stay
    within one filesystem to be atomic)."""
    part = name + PART_SUFFIX
    try:
        too_long = len(os.fsencode(part)) > NAME_MAX
    except ValueError:
        return part  # cannot be encoded: the open says so, with the OS's words
    return None if too_long else part


def download_file(client: httpx.Client, url: str, directory: Path | OpenDir, name: str, *,
                  credentials: dict[str, str], trusted: Origin, redact: Callable[[str], str],
                  log: Callable[[str], None] | None = None,
                  progress: DownloadProgress = NULL_PROGRESS, attempts: int = 3,
                  sleep: Callable[[float], None] = time.sleep,
                  deadline: float | None = None,
                  on_retry: Callable[[str, float], None] | None = None,
                  parts: Parts | None = None) -> int:
    """Stream ``url`` to ``directory/name``; return the bytes written. Raises DownloadError.

    Credentials only go to the ``trusted`` origin (open_response enforces it, redirects
    included). 429/5xx and cut bodies are retried; other non-2xx answers fail at once.
    ``deadline`` (time.monotonic) bounds the retries' waits and the streaming itself.
    ``on_retry(message, delay)`` is told before each wait between attempts.
    """
    check_component(name)
    if deadline is not None and time.monotonic() >= deadline:
        raise DownloadTimeout(f"the --timeout passed before {name} was downloaded")
    with _held(directory, name) as held:
        _prepare_targets(held, name)

        def attempt() -> int:
            # The body as stored: httpx asks for gzip by default and inflates each network
            # read whole, so a few KiB of compressed zeros would become gigabytes in memory.
            response = open_response(client, url, credentials=credentials, trusted=trusted,
                                     redact=redact, log=log, stream=True,
                                     headers={"Accept-Encoding": "identity"})
            try:
                status = response.status_code
                if status in TRANSIENT_STATUS:
                    raise TransientError(
                        f"cannot download {redact(url)}: HTTP {status}",
                        retry_after=parse_retry_after(response.headers.get("retry-after")),
                    )
                if not 200 <= status < 300:
                    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
                    raise DownloadError(f"cannot download {redact(url)}: HTTP {status}{reason}")
                encoding = _content_encoding(response, url, redact)
                return _write_part(
                    held, name,
                    lambda fd: _stream(response, fd, url=url, label=name, redact=redact,
                                       progress=progress, encoding=encoding,
                                       deadline=deadline),
                    parts,
                )
            finally:
                response.close()

        def tell(exc: TransientError, delay: float) -> None:
            if on_retry is not None:
                on_retry(exc.message, delay)

        try:
            return retrying(attempt, attempts=attempts, sleep=sleep, deadline=deadline,
                            on_retry=tell)
        except DownloadError:
            raise
        except UnreachableError as exc:
            if isinstance(exc, PastDeadline) or (
                    deadline is not None and time.monotonic() >= deadline):
                raise DownloadTimeout(exc.message, hint=exc.hint) from None
            raise DownloadError(exc.message, hint=exc.hint) from None


def _content_encoding(response: httpx.Response, url: str,
                      redact: Callable[[str], str]) -> str | None:
    """None for a body as stored; "gzip" or "deflate" for one we can undo a chunk at a time.
    Anything else (br, zstd, a chain of several) we did not ask for and cannot bound."""
    value = response.headers.get("content-encoding", "").strip().lower()
    if value in ("", "identity"):
        return None
    if value in _WBITS:
        return value
    raise DownloadError(f"cannot download {redact(url)}: it came with Content-Encoding "
                        f"{value!r}, which jobwatch does not decode")


def _stream(response: httpx.Response, fd: int, *, url: str, label: str,
            redact: Callable[[str], str], progress: DownloadProgress,
            encoding: str | None = None, deadline: float | None = None) -> int:
    import httpcore
    import httpx

    announced = _content_length(response)
    # With a Content-Encoding the announced length counts encoded bytes, not what we write.
    progress.start(label, None if encoding else announced)
    raw = _RawBody(response, announced)
    writeback = _Writeback(fd)
    ok = False
    written = 0
    try:
        try:
            for chunk in _decoded(raw, encoding):
                write_all(fd, chunk)
                written += len(chunk)
                progress.advance(len(chunk))
                writeback.wrote(written)
                if (deadline is not None and time.monotonic() > deadline
                        and (announced is None or raw.received < announced)):
                    raise DownloadTimeout(f"the --timeout passed while downloading {label}")
        except (httpx.HTTPError, httpcore.NetworkError, httpcore.TimeoutException) as exc:
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


class _RawBody:
    """The body's bytes as they come off the connection, counted.

    For a plain HTTP/1.1 body of known length, only the first piece goes through h11, which
    hands over everything it has buffered at once; the rest is read straight from the
    connection's network stream (httpcore's public ``network_stream`` extension) into the
    file: no copy into h11's buffer and out again, no per-chunk event machinery (256 MiB
    streams ~30% faster). The connection is then closed rather than reused, since h11 never
    saw the end of the body. Anything else (chunked, unknown length, no such extension) is
    read through httpx throughout."""

    def __init__(self, response: httpx.Response, announced: int | None) -> None:
        self.response = response
        self.announced = announced
        self.received = 0

    def __iter__(self) -> Iterator[bytes]:
        chunks = self.response.iter_raw()
        for chunk in chunks:
            self.received += len(chunk)
            yield chunk
            stream = self._network_stream()
            if stream is not None:
                # ``chunks`` stays open (closing it would close the connection) until the
                # direct reads are done and this generator ends.
                yield from self._direct(stream)
                return

    def _network_stream(self) -> Any:
        stream = self.response.extensions.get("network_stream")
        if (self.announced is None or stream is None or not hasattr(stream, "read")
                or self.response.http_version != "HTTP/1.1"):
            return None
        return stream

    def _direct(self, stream: Any) -> Iterator[bytes]:
        timeout = (self.response.request.extensions.get("timeout") or {}).get("read")
        remaining = (self.announced or 0) - self.received
        while remaining > 0:
            chunk = stream.read(min(CHUNK_SIZE, remaining), timeout)
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


def _decoded(raw: Iterable[bytes], encoding: str | None) -> Iterator[bytes]:
    # Each chunk is at most CHUNK_SIZE; it goes to the file as it comes.
    if encoding is None:
        yield from raw
        return
    inflater = _Inflater(encoding)
    for chunk in raw:
        yield from inflater.feed(chunk)
    yield from inflater.end()


class _Inflater:
    """gzip or deflate undone at most CHUNK_SIZE bytes at a time, so memory stays flat however
    far the body inflates (a decompression bomb only makes a large file, never a large chunk)."""

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
            out = self.decoder.decompress(data, CHUNK_SIZE)
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


def write_all(fd: int, data: bytes) -> int:
    """os.write until all of ``data`` is written (a write may be partial); return its length."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _prepare_targets(held: OpenDir, name: str) -> None:
    """Refuse symlinks at NAME or NAME.part (touching nothing), and remove a stale NAME.part."""
    try:
        _refuse_symlink_or_dir(held, name)
        part = _part_name(name)
        if part is not None:
            _refuse_symlink_or_dir(held, part)
            try:
                os.unlink(part, dir_fd=held.fd)
            except FileNotFoundError:
                pass
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write {held.path / name}: {_reason(exc)}") from None


def _refuse_symlink_or_dir(held: OpenDir, name: str) -> None:
    mode = _lstat_mode(held, name)
    if mode is None:
        return
    if stat.S_ISLNK(mode):
        raise DownloadError(f"refusing to replace a symlink: {held.path / name}",
                            hint="jobwatch never writes through a symlink; remove it first")
    if stat.S_ISDIR(mode):
        raise DownloadError(f"cannot write {held.path / name}: a directory of that name exists")


def _lstat_mode(held: OpenDir, name: str) -> int | None:
    """The mode of ``name`` in ``held`` itself (a symlink is not followed), None if absent."""
    try:
        return os.stat(name, dir_fd=held.fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None


def _reason(exc: OSError | ValueError) -> str:
    """The OS's words for a failure; a name the filesystem encoding cannot hold says so."""
    if isinstance(exc, UnicodeError):
        return "the name cannot be encoded for this filesystem"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads; Linux exposes
    # it read-only in /proc. The fallback sets a stricter mask for an instant, never a looser one.
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o077)
    os.umask(old)
    return old


def _fsync_dir(dir_fd: int) -> None:
    # Makes the rename itself durable. Some filesystems refuse fsync on a directory; the file's
    # data is already synced and in place by then, so that is not worth failing the download for.
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
