"""The process's standard streams when their readers go away."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not imported: `--version` uses this module
if TYPE_CHECKING:
    from typing import Any


def silence(fd: int) -> None:
    """Point a standard stream's descriptor at /dev/null once its reader has gone away, so the
    interpreter's last flush cannot fail (exit 120) or complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def silence_stdout() -> None:
    try:
        silence(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or no descriptor at all
        pass


class GuardedStream:
    """stderr that goes quiet once its reader has gone away. A closed pipe on stderr
    (`jobwatch status ... 2>&1 | head -1`) must never change the exit code a script reads."""

    def __init__(self, stream: Any) -> None:
        # None when the shell closed it (`2>&-`): write nowhere, as into a closed pipe.
        self._stream = stream if stream is not None else open(os.devnull, "w")
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return int(self._stream.write(text) or 0)
            except (OSError, ValueError):
                self._went_away()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._went_away()

    def isatty(self) -> bool:
        return not self._gone and self._stream.isatty()

    def _went_away(self) -> None:
        self._gone = True
        silence(2)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class RedactedStream:
    """stdout or stderr with every secret of the run hidden in what is written: the one place
    where text leaves the process, so no output path can forget it (the data jobwatch acts on
    is never redacted; jobwatch.redact). Each write is redacted whole: jobwatch writes whole
    lines (rich, a whole frame), so a secret is never split across two writes."""

    def __init__(self, stream: Any, redact: Any) -> None:
        self._stream = stream
        self._redact = redact

    def write(self, text: str) -> int:
        self._stream.write(self._redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
