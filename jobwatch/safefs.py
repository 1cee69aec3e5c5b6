"""The safe filesystem layer under every file jobwatch writes: names that cannot escape DIR,
directories held by descriptor, and NAME.<random>.part + rename.

Knows nothing about HTTP or providers. A file is written to a temporary ``NAME.<random>.part``
(created O_EXCL|O_NOFOLLOW, mode 0600), fsynced, given the usual mode and renamed over ``NAME``
only once it is complete, so an existing ``NAME`` survives a failed write and nothing
half-written is ever left behind. Each attempt has a temporary of its own: two runs writing the
same NAME at once (a CI `wait` and a person's `download`) never rename each other's half-written
file into place, and a .part this process did not create is never removed.

Directories are walked and held by file descriptor: every level below DIR is opened O_NOFOLLOW
relative to its parent, and the .part is created, renamed and removed relative to the held
directory. Swapping a directory for a symlink while a file is written therefore changes nothing.
"""

from __future__ import annotations

import os
import stat
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jobwatch.errors import DownloadError

PART_SUFFIX = ".part"
NAME_MAX = 255  # bytes in one file name on ext4, XFS, btrfs, tmpfs and APFS
PART_ATTEMPTS = 3  # random temporary names tried before giving up (a clash is ~never)

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
    that no new .part can be created.

    A .part is created and registered under one lock, so remove_all() removes exactly the
    files this process created: never one it only meant to create, which might be someone
    else's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[int, tuple[int, str]] = {}
        self._next = 0
        self._closed = False

    def create(self, dir_fd: int, name: str) -> tuple[int, int]:
        """Create ``name`` in ``dir_fd`` as a new .part; return (key, file descriptor)."""
        with self._lock:
            if self._closed:
                raise DownloadError(f"the watch stopped before {name} was written")
            held = os.dup(dir_fd)  # ours: the caller closes its own
            try:
                fd = os.open(name, _OPEN_FLAGS, 0o600, dir_fd=dir_fd)
            except BaseException:
                os.close(held)
                raise
            self._next += 1
            self._live[self._next] = (held, name)
            return self._next, fd

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
                pass  # already renamed into place, or removed by its own worker
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
        raise DownloadError(f"cannot create {root}: {os_reason(exc)}") from None
    try:
        held = OpenDir(root, os.open(root, _DIR_FLAGS))
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write into {root}: {os_reason(exc)}") from None
    try:
        for component in components:
            child = _open_child(held, check_component(component))
            held.close()
            held = child
    except BaseException:
        held.close()
        raise
    return held


def _open_child(parent: OpenDir, name: str) -> OpenDir:
    path = parent.path / name
    try:
        os.mkdir(name, 0o777, dir_fd=parent.fd)
    except FileExistsError:
        pass
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot create {path}: {os_reason(exc)}") from None
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
        raise DownloadError(f"cannot create {path}: {os_reason(exc)}") from None


@contextmanager
def held_dir(directory: Path | OpenDir, name: str) -> Iterator[OpenDir]:
    """``directory`` as an OpenDir: borrowed if it is one, else opened for the duration (the
    caller vouches for that path, which may be a symlink the user made). ``name`` is the file
    about to be written there, for the message."""
    if isinstance(directory, OpenDir):
        yield directory
        return
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write {directory / name}: {os_reason(exc)}") from None
    with OpenDir(directory, fd) as held:
        yield held


def write_atomically(directory: Path | OpenDir, name: str, write: Callable[[int], int],
                     parts: Parts | None = None, mode: int | None = None) -> int:
    """Create ``directory/name`` through a .part of its own: ``write(fd)`` fills it and returns
    the byte count; then fsync, ``mode`` (default: the usual, umask applied), rename. On any
    failure or interruption the .part is removed and the error re-raised; OSError becomes
    DownloadError with the OS's reason.
    """
    check_component(name)
    with held_dir(directory, name) as held:
        check_target(held, name)
        return write_part(held, name, write, parts, mode)


def check_target(held: OpenDir, name: str) -> None:
    """Refuse a symlink or a directory at NAME, touching nothing."""
    try:
        _refuse_symlink_or_dir(held, name)
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write {held.path / name}: {os_reason(exc)}") from None


def write_part(held: OpenDir, name: str, write: Callable[[int], int],
               parts: Parts | None = None, mode: int | None = None) -> int:
    """The part of write_atomically after check_target. The .part's random name is created
    O_EXCL and O_NOFOLLOW: whatever already sits at that name is never written through."""
    final = held.path / name
    fd: int | None = None
    part: str | None = None
    key: int | None = None
    committed = False
    try:
        part, fd, key = _create_part(held, name, parts)
        written = write(fd)
        os.fsync(fd)
        os.fchmod(fd, 0o666 & ~_umask() if mode is None else mode)
        os.close(fd)
        fd = None
        _refuse_symlink_or_dir(held, name)  # planted while we were writing?
        os.replace(part, name, src_dir_fd=held.fd, dst_dir_fd=held.fd)
        committed = True
        _fsync_dir(held.fd)
        return written
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write {final}: {os_reason(exc)}") from None
    finally:
        if fd is not None:
            os.close(fd)
        if part is not None and not committed:
            try:
                os.unlink(part, dir_fd=held.fd)
            except OSError:
                pass  # the error already on its way up says more than a failed cleanup would
        if key is not None and parts is not None:
            parts.discard(key)


def _create_part(held: OpenDir, name: str, parts: Parts | None
                 ) -> tuple[str, int, int | None]:
    """A new .part for ``name``: (its name, its descriptor, its key in ``parts``)."""
    for _ in range(PART_ATTEMPTS):
        part = part_name(name)
        try:
            if parts is None:
                return part, os.open(part, _OPEN_FLAGS, 0o600, dir_fd=held.fd), None
            key, fd = parts.create(held.fd, part)
            return part, fd, key
        except FileExistsError:
            continue  # something sits at that random name: not ours, so not touched
    raise DownloadError(f"cannot write {held.path / name}: no free temporary name beside it")


def part_name(name: str) -> str:
    """``NAME.<8 random hex>.part``; when that is longer than a file name may be while NAME
    itself fits, a short hidden random name in the same directory (the rename must stay within
    one filesystem to be atomic). os.urandom, not the secrets module: hmac and friends would
    cost every start ~3 ms."""
    part = f"{name}.{os.urandom(4).hex()}{PART_SUFFIX}"
    try:
        too_long = len(os.fsencode(part)) > NAME_MAX
    except ValueError:
        return part  # cannot be encoded: the open says so, with the OS's words
    return f".jobwatch-{os.urandom(8).hex()}{PART_SUFFIX}" if too_long else part


def write_all(fd: int, data: bytes) -> int:
    """os.write until all of ``data`` is written (a write may be partial); return its length."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


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


def os_reason(exc: OSError | ValueError) -> str:
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
