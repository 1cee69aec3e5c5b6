"""Reading what a user points jobwatch at, bounded in size and in time.

A config file, a CA bundle and a token_command are the user's, not an attacker's, but a path
can name a FIFO or a device by mistake (`--config /dev/stdin`, `verify = "/dev/zero"`) and a
helper can print far more than a token, or leave a background child holding its stdout. None
of these may hang jobwatch or make it swallow gigabytes. The callers turn the exceptions below
into ConfigErrors that name the setting; nothing here prints what it read.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a command runs: loading the config does not pay for them
    import subprocess

KIB = 1024
MIB = 1024 * KIB
# How often the wait for a command's exit looks again while a pipe is still open: only a command
# that exits while a child holds its stdout is noticed this late.
EXIT_POLL = 0.05


class NotARegularFile(OSError):
    """The path is a FIFO, a device, a socket (or a directory where a file is needed)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"it is {kind}, not a regular file")
        self.kind = kind


class TooLarge(OSError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"it is larger than {describe_size(limit)}")
        self.limit = limit


def describe_size(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB and size % MIB == 0 else f"{size // KIB} KiB"


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


@dataclass(frozen=True)
class FileRead:
    """A regular file's bytes, or a directory (data None), with the fstat of what was opened."""

    data: bytes | None
    stat: os.stat_result

    @property
    def is_dir(self) -> bool:
        return self.data is None


def read_user_file(path: str | os.PathLike[str], limit: int, *,
                   directory_ok: bool = False) -> FileRead:
    """The bytes of a regular file of at most ``limit`` bytes (or, with ``directory_ok``, the
    fact that it is a directory). Raises FileNotFoundError and other OSErrors, NotARegularFile,
    TooLarge.

    Opened with O_NONBLOCK so that a FIFO without a writer cannot hold the open, then checked
    with fstat on that very descriptor, so that what is read is what was checked."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if directory_ok and stat.S_ISDIR(info.st_mode):
            return FileRead(None, info)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(_kind(info.st_mode))
        if info.st_size > limit:
            raise TooLarge(limit)
        chunks: list[bytes] = []
        size = 0
        # Read to EOF rather than trusting st_size: a file may grow between fstat and read.
        while chunk := os.read(fd, min(MIB, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise TooLarge(limit)
        return FileRead(b"".join(chunks), info)
    finally:
        os.close(fd)


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


class DidNotFinish(Exception):
    """The command's own process was still running at the time limit (it has been killed)."""


class TooMuchOutput(Exception):
    """The command printed more than the limit on ``stream`` (it has been killed)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.stream = stream


def run_bounded(argv: Sequence[str], *, timeout: float, limit: int) -> Finished:
    """Run ``argv`` without a shell, stdin from /dev/null, and return what it printed once its
    own process has exited. Raises FileNotFoundError / OSError when it cannot start,
    DidNotFinish, TooMuchOutput.

    Finished means the process exited, not that its pipes reached EOF: a helper may start an
    agent that keeps its stdout open (`sh -c 'agent & echo tok'`). Its output so far is taken
    and the child is left alone: it may be something the user needs. Only the command's own
    process is killed, and only when it runs past ``timeout`` or prints past ``limit``."""
    import subprocess

    process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        return _collect(process, time.monotonic() + timeout, limit)
    finally:
        if process.poll() is None:  # an error above, or Ctrl-C: never leave it running
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def _collect(process: subprocess.Popen[bytes], deadline: float, limit: int) -> Finished:
    import selectors

    assert process.stdout is not None and process.stderr is not None
    names = {process.stdout.fileno(): "stdout", process.stderr.fileno(): "stderr"}
    output = {fd: bytearray() for fd in names}
    with selectors.DefaultSelector() as selector:
        for fd in names:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        while True:
            exited = process.poll() is not None
            left = deadline - time.monotonic()
            if left <= 0:
                if exited:  # a child still writing into the pipes: what came so far is it
                    break
                raise DidNotFinish()
            if not selector.get_map():  # both pipes closed: only the exit is left to wait for
                if not exited:
                    _wait(process, deadline)
                break
            # Once it has exited, everything it wrote is in the pipes: take what is there now,
            # without waiting for an EOF that a child holding the pipe may never send.
            ready = selector.select(0 if exited else min(EXIT_POLL, left))
            if exited and not ready:
                break
            for key, _ in ready:
                fd = int(key.fd)
                chunk = _read(fd, limit + 1 - len(output[fd]))
                if chunk == b"":
                    selector.unregister(fd)
                elif chunk is not None:
                    output[fd] += chunk
                    if len(output[fd]) > limit:
                        raise TooMuchOutput(names[fd])
    out, err = (bytes(output[fd]) for fd in names)
    return Finished(process.returncode, out, err)


def _read(fd: int, size: int) -> bytes | None:
    """Up to ``size`` bytes; b"" at EOF; None when there is nothing to read after all."""
    try:
        return os.read(fd, max(1, min(64 * KIB, size)))
    except BlockingIOError:
        return None


def _wait(process: subprocess.Popen[bytes], deadline: float) -> None:
    import subprocess

    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise DidNotFinish() from None
