"""How `-p demo` finds the running `jobwatch demo --serve`: a small state file, and the checks
that make it safe to follow.

While it runs, `demo --serve` keeps ``demo.json`` (host, port, token, nonce, pid, the
providers' own fields) in ``$XDG_RUNTIME_DIR/jobwatch/``, or, when XDG_RUNTIME_DIR is unset or
not a directory of ours that others cannot write, in ``<user cache dir>/jobwatch/run/`` (under
the home directory, so no other user can create it first, as they could in /tmp). It writes the
file atomically (safefs), mode 0600, and holds an exclusive flock on it for as long as it runs;
it removes the file when it stops. The kernel drops the lock when the process dies, kill -9
included, so a file whose lock anyone can take is stale: its simulator is gone.

Threat model: another local user, or a program of ours gone wrong, must not be able to make
`-p demo` send the demo token (or anything) somewhere else, nor feed it a fake simulator. So a
client follows the file only when all of this holds, and otherwise sends nothing:

- the directory is ours, not a symlink, and nobody else can write it (held by descriptor);
- the file is opened O_NOFOLLOW (a symlink is refused), and fstat of what was opened says: a
  regular file, ours, no access for group or others (0600);
- its simulator is alive (the lock is held) and the host is a loopback address literal;
- what answers on that port proves it is the simulator that wrote the file: the client sends a
  fresh random challenge, without the token, and expects HMAC-SHA256(nonce, challenge). The
  nonce itself never goes on the wire, so nothing listening on loopback (or asking the live
  simulator) learns it, and an old answer cannot be replayed; a squatter on the port of a
  simulator that died cannot pass. Only then is a request made with the token.

The token is the simulator's own, random per run: the demo profile never carries a real one
(JOBWATCH_<PROVIDER>_* variables do not apply to it).

Standard library only (the server imports ``proof`` from here).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import ipaddress
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from jobwatch.demo.server import Simulator
    from jobwatch.safefs import OpenDir

STATE_NAME = "demo.json"
STATE_LIMIT = 16 * 1024  # bytes; the file is ~300
CONTROL_PREFIX = "/__jobwatch/"
ALIVE_PATH = CONTROL_PREFIX + "alive"
RESET_PATH = CONTROL_PREFIX + "reset"
START_HINT = "start `jobwatch demo --serve` in another terminal"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
# Filesystems without flock (some network mounts): liveness is then the challenge's to tell.
_NO_LOCKS = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{16,256}")
_NONCE = re.compile(r"[0-9a-f]{32,128}")


class NoSimulator(ConfigError):
    """`-p demo` with no simulator running (none started, or the one that wrote the file has
    stopped): a configuration error, said before any request."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("no simulator is running for -p demo" + (f" ({detail})" if detail else "")
                         + f": {START_HINT}")


def proof(nonce: str, challenge: str) -> str:
    """What the simulator answers to ``challenge``: only a holder of the nonce can compute it."""
    message = b"jobwatch-simulator-alive:" + challenge.encode("ascii")
    return hmac.new(nonce.encode("ascii"), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class State:
    path: Path
    pid: int
    host: str
    port: int
    token: str
    nonce: str
    fields: dict[str, dict[str, str]] = field(default_factory=dict)  # provider -> its fields

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


# --- where ----------------------------------------------------------------------------------

def state_dir(env: Mapping[str, str]) -> Path:
    """The directory of the state file: $XDG_RUNTIME_DIR/jobwatch when XDG_RUNTIME_DIR is a
    directory of ours that others cannot write, else <user cache dir>/jobwatch/run."""
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime) and _private(runtime):
        return Path(runtime) / "jobwatch"
    from platformdirs import user_cache_path

    return user_cache_path("jobwatch") / "run"


def _private(path: str) -> bool:
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return False
    return _problem(info, "directory") is None


def _problem(info: os.stat_result, kind: str) -> str | None:
    """Why a directory or file we are about to trust is not ours alone, or None."""
    if kind == "directory" and not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if kind == "file" and not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_uid != os.geteuid():
        return f"belongs to another user (uid {info.st_uid})"
    mode = stat.S_IMODE(info.st_mode)
    if kind == "directory" and mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by others (mode {mode:04o})"
    if kind == "file" and mode & 0o077:
        return f"is open to others (mode {mode:04o}, not 0600)"
    return None


def _open_dir(path: Path) -> int:
    """``path`` opened without following a symlink and checked to be ours alone."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # Linux says ENOTDIR for a symlink
            symlink = os.path.islink(path)
            raise _refused(path, "is a symlink" if symlink else "is not a directory") from None
        raise
    problem = _problem(os.fstat(fd), "directory")
    if problem is not None:
        os.close(fd)
        raise _refused(path, problem)
    return fd


def _refused(path: Path, problem: str) -> ConfigError:
    return ConfigError(f"refusing {path} for -p demo: it {problem}",
                       hint="remove it; `jobwatch demo --serve` makes a fresh one, for "
                            "this user only")


# --- the client's side ----------------------------------------------------------------------

def read_state(env: Mapping[str, str]) -> State:
    """The running simulator's state, after every check on the file (not yet the challenge:
    jobwatch.demo.link). NoSimulator when there is none, ConfigError when one is refused."""
    directory = state_dir(env)
    try:
        dir_fd = _open_dir(directory)
    except FileNotFoundError:
        raise NoSimulator() from None
    except OSError as exc:
        raise ConfigError(f"cannot read the simulator's state in {directory}: "
                          f"{exc.strerror}") from None
    path = directory / STATE_NAME
    try:
        try:
            fd = os.open(STATE_NAME, _FILE_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            raise NoSimulator() from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refused(path, "is a symlink") from None
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(dir_fd)
    try:
        problem = _problem(os.fstat(fd), "file")
        if problem is not None:
            raise _refused(path, problem)
        if _lock_is_free(fd):
            raise NoSimulator(f"the one that wrote {path} has stopped")
        data = _read_bounded(fd, path)
    finally:
        os.close(fd)
    return _parse(path, data)


def _lock_is_free(fd: int) -> bool:
    """Whether nobody holds the writer's lock: then its simulator is gone."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        # EWOULDBLOCK: held, by the simulator. Or no locks on this filesystem (_NO_LOCKS):
        # nothing can be told here, and the challenge decides.
        return False
    return True  # closing fd lets it go


def _read_bounded(fd: int, path: Path) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= STATE_LIMIT:
        chunk = os.read(fd, STATE_LIMIT + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise _refused(path, f"is larger than {STATE_LIMIT} bytes")


def _parse(path: Path, data: bytes) -> State:
    from jobwatch.registry import REGISTRY

    def bad(why: str) -> ConfigError:
        return _refused(path, f"is not a state file jobwatch wrote ({why})")

    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("not JSON") from None
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise bad("unknown version")
    host, port, pid = raw.get("host"), raw.get("port"), raw.get("pid")
    token, nonce, fields = raw.get("token"), raw.get("nonce"), raw.get("fields", {})
    if not isinstance(host, str) or not _loopback(host):
        shown = host if isinstance(host, str) else type(host).__name__
        raise _refused(path, f"points at {shown[:100]!r}, not a loopback address (-p demo "
                             "talks to this machine only)")
    if not isinstance(port, int) or not isinstance(pid, int) or isinstance(port, bool) \
            or isinstance(pid, bool) or not 0 < port < 65536 or pid <= 0:
        raise bad("port or pid")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise bad("token")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise bad("nonce")
    if not isinstance(fields, dict) or not all(
            provider in REGISTRY and isinstance(own, dict)
            and all(name in REGISTRY[provider].fields and isinstance(value, str)
                    and len(value) <= 200 for name, value in own.items())
            for provider, own in fields.items()):
        raise bad("fields")
    return State(path=path, pid=pid, host=host, port=port, token=token, nonce=nonce,
                 fields=fields)


def _loopback(host: str) -> bool:
    """A loopback address literal: never a name, which something else could resolve."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- the server's side ----------------------------------------------------------------------

class Published:
    """The state file of a running simulator, its lock held until ``remove``."""

    def __init__(self, held: OpenDir, fd: int) -> None:
        self._held = held
        self._fd = fd
        self.path = held.path / STATE_NAME

    def remove(self) -> None:
        """Remove the file if it is still ours (not replaced since), then let the lock go."""
        if self._fd < 0:
            return
        try:
            there = os.stat(STATE_NAME, dir_fd=self._held.fd, follow_symlinks=False)
            mine = os.fstat(self._fd)
            if (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino):
                os.unlink(STATE_NAME, dir_fd=self._held.fd)
        except OSError:
            pass  # gone already, or not ours to remove: either way nothing points at us
        finally:
            os.close(self._fd)
            self._fd = -1
            self._held.close()


def publish(sim: Simulator, env: Mapping[str, str]) -> Published:
    """Write the state file for ``sim`` and hold its lock; refused when another simulator's
    state file is live (UsageError) or the place is not safe (ConfigError)."""
    from jobwatch.errors import DownloadError
    from jobwatch.safefs import OpenDir, write_all, write_atomically

    directory = state_dir(env)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        held = OpenDir(directory, _open_dir(directory))
    except OSError as exc:
        raise ConfigError(f"cannot keep the simulator's state in {directory}: {exc.strerror}",
                          hint="-p demo needs it; check that directory") from None
    kept: list[int] = []
    try:
        _refuse_if_live(held)
        data = json.dumps({
            "version": 1, "pid": os.getpid(), "host": sim.host, "port": sim.port,
            "token": sim.token, "nonce": sim.nonce,
            "fields": {name: own for name in sim.sims if (own := sim.fields(name))},
        }).encode()

        def write(fd: int) -> int:
            import fcntl

            try:  # safefs locks its .part already; taken here too, so it is ours to keep
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in _NO_LOCKS:
                    raise
            # A duplicate of the descriptor keeps the lock once safefs closes its own, after
            # the rename: the lock then sits on the file at STATE_NAME for our lifetime.
            kept.append(os.dup(fd))
            return write_all(fd, data)

        write_atomically(held, STATE_NAME, write, mode=0o600)
    except BaseException as exc:
        for fd in kept:
            os.close(fd)
        held.close()
        if isinstance(exc, DownloadError):
            raise ConfigError(exc.message, hint="-p demo needs it; check that directory"
                              ) from None
        raise
    return Published(held, kept[0])


def _refuse_if_live(held: OpenDir) -> None:
    try:
        fd = os.open(STATE_NAME, _FILE_FLAGS, dir_fd=held.fd)
    except OSError:
        return  # none, or a symlink: write_atomically refuses to replace the latter
    try:
        if _problem(os.fstat(fd), "file") is not None or _lock_is_free(fd):
            return  # stale, or not ours: replaced (atomically, never written through)
        try:
            raw = json.loads(_read_bounded(fd, held.path / STATE_NAME))
            where = f" (pid {int(raw['pid'])}, http://{raw['host']}:{int(raw['port'])})"
        except (ValueError, TypeError, KeyError, ConfigError):
            where = ""
    finally:
        os.close(fd)
    raise UsageError(f"another `jobwatch demo --serve` is running{where}; -p demo uses that one",
                     hint="stop it first (Ctrl-C in its terminal), or use it")
