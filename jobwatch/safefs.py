"""The safe filesystem layer under every file jobwatch writes: names that cannot escape DIR,
directories held by descriptor, and NAME.<random>.part + rename.

(Just over 500 lines: the threat model and the .part locking protocol are kept with the code.)

Knows nothing about HTTP or providers. A file is written to a temporary ``NAME.<random>.part``
(created O_EXCL|O_NOFOLLOW, mode 0600), fsynced, given the usual mode and renamed over ``NAME``
only once it is complete, so an existing ``NAME`` survives a failed write and nothing
half-written is ever left behind. Each attempt has a temporary of its own: two runs writing the
same NAME at once (a CI `wait` and a person's `download`) never rename each other's half-written
file into place.

A .part is locked (flock, exclusive) by its writer from its creation until it is renamed or
removed, so the lock says whether its writer lives: the kernel drops it when the process dies,
kill -9 included. Before writing NAME, a run removes the dead parts of NAME (those it can lock),
and leaves alone every part a live process holds, and every name it does not make itself
(``x.part``, or a symlink, a directory, another user's file under a name like ours).
See ``remove_dead_parts`` for the window between creating a part and locking it, and for what
this cannot promise on NFS.

Directories are walked and held by file descriptor: every level below DIR is opened O_NOFOLLOW
relative to its parent, and the .part is created, renamed and removed relative to the held
directory. Swapping a directory for a symlink while a file is written therefore changes nothing.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
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
# O_CLOEXEC also keeps a part's lock from passing to a child (an --on-end hook), which would
# make the part of a dead run look alive for as long as the child lives.
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
# How a part is opened to judge it: never through a symlink, never blocking on a FIFO.
_JUDGE_FLAGS = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
# Locking that the filesystem does not offer (some FUSE and network mounts): a writer goes on
# without the lock, and a cleaner, which cannot lock either, leaves every part alone.
_NO_LOCKS = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})
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
    else's. It removes them without their flock, which the workers' descriptors hold; no
    other process removes a locked part, so each name is still this process's file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[int, tuple[int, str]] = {}
        self._next = 0
        self._closed = False

    def create(self, dir_fd: int, name: str) -> tuple[int, int] | None:
        """Create ``name`` in ``dir_fd`` as a new locked .part; return (key, file descriptor),
        or None when a cleaner took it first (see open_part)."""
        with self._lock:
            if self._closed:
                raise DownloadError(f"the watch stopped before {name} was written")
            held = os.dup(dir_fd)  # ours: the caller closes its own
            try:
                fd = open_part(dir_fd, name)
            except BaseException:
                os.close(held)
                raise
            if fd is None:
                os.close(held)
                return None
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
    """The part of write_atomically after check_target. The dead parts of ``name`` are
    removed first. The .part's random name is created O_EXCL and O_NOFOLLOW (whatever already
    sits at that name is never written through) and stays locked until it is renamed into
    place or removed: the descriptor holding the lock is closed last."""
    final = held.path / name
    fd: int | None = None
    part: str | None = None
    key: int | None = None
    committed = False
    try:
        remove_dead_parts(held, name)
        part, fd, key = _create_part(held, name, parts)
        written = write(fd)
        os.fsync(fd)
        os.fchmod(fd, 0o666 & ~_umask() if mode is None else mode)
        _refuse_symlink_or_dir(held, name)  # planted while we were writing?
        os.replace(part, name, src_dir_fd=held.fd, dst_dir_fd=held.fd)
        committed = True
        os.close(fd)  # the lock goes with it: the name is no longer a part's
        fd = None
        _fsync_dir(held.fd)
        return written
    except (OSError, ValueError) as exc:
        raise DownloadError(f"cannot write {final}: {os_reason(exc)}") from None
    finally:
        if part is not None and not committed:
            try:
                os.unlink(part, dir_fd=held.fd)  # still under our lock
            except OSError:
                pass  # the error already on its way up says more than a failed cleanup would
        if fd is not None:
            os.close(fd)
        if key is not None and parts is not None:
            parts.discard(key)


def _create_part(held: OpenDir, name: str, parts: Parts | None
                 ) -> tuple[str, int, int | None]:
    """A new locked .part for ``name``: (its name, its descriptor, its key in ``parts``)."""
    for _ in range(PART_ATTEMPTS):
        part = part_name(name)
        try:
            if parts is None:
                fd = open_part(held.fd, part)
                if fd is not None:
                    return part, fd, None
                continue
            created = parts.create(held.fd, part)
        except FileExistsError:
            continue  # something sits at that random name: not ours, so not touched
        if created is not None:
            return part, created[1], created[0]
    raise DownloadError(f"cannot write {held.path / name}: no free temporary name beside it")


def open_part(dir_fd: int, part: str) -> int | None:
    """Create ``part`` (O_EXCL, O_NOFOLLOW, 0600) and lock it at once; its descriptor, or None
    if a cleaner got to it in between.

    Why that can happen, and why None is safe: a cleaner judges a part by trying its lock, so
    in the instant between our create and our flock it may find it unlocked, take it as dead,
    lock it and remove it. Then either our flock fails (the cleaner holds it: the file is its
    to remove) or it succeeds on a file that no longer has the name (the cleaner has removed
    it and let go). Both are seen here, and another random name is tried. Once our lock is
    held and the name is still our file, no cleaner can remove it: they remove only under
    the lock. Parts are therefore never judged by age, and a dead one is removed by the very
    next run, however young."""
    fd = os.open(part, _OPEN_FLAGS, 0o600, dir_fd=dir_fd)
    try:
        if _lock(fd, writer=True) and _is_named(dir_fd, part, fd):
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def remove_dead_parts(held: OpenDir, name: str) -> None:
    """Remove the .part files a dead process left for ``name``: only names jobwatch makes
    (``NAME.<8 hex>.part``, and the short ``.jobwatch-<16 hex>.part`` when NAME is too long
    for the first), only regular files of this user with a part's mode 0600, and only while
    holding their lock: one a live writer holds is left alone. Everything is done relative
    to the held directory and never through a symlink. Failures are silent: this is
    housekeeping, and the write that follows reports what matters.

    On NFS this cannot be promised. Linux emulates flock there with the server's byte-range
    locks (lockd/NLM, or NFSv4 locks), which hold across clients only while the lock service
    works: mounted with ``nolock`` or ``local_lock=flock`` the lock is local to each client, so
    a writer on another machine looks dead and its part can be removed under it (its download
    then fails at the rename and is retried); a client that loses its lease loses its locks
    the same way. SMB and some FUSE filesystems may not lock at all: then nothing is removed.
    """
    try:
        entries = os.listdir(held.fd)
    except OSError:
        return
    ours = _part_pattern(name)
    for entry in entries:
        if ours.fullmatch(entry):
            _remove_if_dead(held.fd, entry)


def _part_pattern(name: str) -> re.Pattern[str]:
    own = re.escape(name) + r"\.[0-9a-f]{8}" + re.escape(PART_SUFFIX)
    if _needs_short_part(name):
        own += r"|\.jobwatch-[0-9a-f]{16}" + re.escape(PART_SUFFIX)
    return re.compile(own)


def _remove_if_dead(dir_fd: int, part: str) -> None:
    try:
        if not stat.S_ISREG(os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            return  # a device is not even opened: opening one can act on it
        fd = os.open(part, _JUDGE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return  # gone already, swapped for a symlink (ELOOP), unreadable: not ours to judge
    try:
        seen = os.fstat(fd)
        # Mode 0600 is what a part keeps until the instant before its rename; a finished file
        # has the usual mode (0644 under the common umask), so a provider's file that merely
        # has a name like ours is, in most setups, not taken for one.
        if (not stat.S_ISREG(seen.st_mode) or seen.st_uid != os.geteuid()
                or stat.S_IMODE(seen.st_mode) != 0o600):
            return
        if not _lock(fd, writer=False):
            return  # its writer lives
        # Under the lock, the name must still be the file judged: another cleaner may have
        # removed it and a writer made a new one of the same name since we opened it.
        if _is_named(dir_fd, part, fd):
            os.unlink(part, dir_fd=dir_fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _lock(fd: int, *, writer: bool) -> bool:
    """Take ``fd``'s exclusive flock without waiting: whether it is ours. Where the
    filesystem offers no locks, a writer goes on (True) and a cleaner judges nothing (False)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _NO_LOCKS:
            return writer
        return False  # EWOULDBLOCK: someone holds it
    return True


def _is_named(dir_fd: int, name: str, fd: int) -> bool:
    """Whether ``name`` in ``dir_fd`` is still the file open as ``fd``."""
    try:
        by_name = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    by_fd = os.fstat(fd)
    return (by_name.st_dev, by_name.st_ino) == (by_fd.st_dev, by_fd.st_ino)


def part_name(name: str) -> str:
    """``NAME.<8 random hex>.part``; when that is longer than a file name may be while NAME
    itself fits, a short hidden random name in the same directory (the rename must stay within
    one filesystem to be atomic). os.urandom, not the secrets module: hmac and friends would
    cost every start ~3 ms."""
    if _needs_short_part(name):
        return f".jobwatch-{os.urandom(8).hex()}{PART_SUFFIX}"
    return f"{name}.{os.urandom(4).hex()}{PART_SUFFIX}"


def _needs_short_part(name: str) -> bool:
    try:
        return len(os.fsencode(name)) + len(".01234567" + PART_SUFFIX) > NAME_MAX
    except ValueError:
        return False  # cannot be encoded: the open says so, with the OS's words


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
