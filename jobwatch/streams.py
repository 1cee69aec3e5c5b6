"""The process's standard streams when their readers go away."""

from __future__ import annotations

import os
from typing import Any


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
        try:  # so the interpreter's last flush of fd 2 cannot complain either
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
