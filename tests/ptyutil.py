"""`python -m jobwatch` on a pseudo-terminal, as a person runs it: the pty is its stdin, stdout,
stderr and controlling terminal, so the live display is drawn, and 0x03 typed into it is turned
into SIGINT (and echoed as "^C") by the line discipline, as Ctrl-C is."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# A session of its own with the pty as its controlling terminal, and the SIGINT a terminal
# would deliver (a child inherits an ignored one from `nohup` or `cmd &`). Done in a launcher
# rather than a preexec_fn: the tests' fake servers run in threads.
LAUNCHER = ("import fcntl, os, signal, sys, termios; signal.signal(signal.SIGINT, "
            "signal.SIG_DFL); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
            "os.execv(sys.executable, [sys.executable, '-m', 'jobwatch', *sys.argv[1:]])")


class PtyRun(NamedTuple):
    returncode: int
    output: str
    elapsed: float


@dataclass
class Resize:
    """Resize the terminal to ``columns`` x ``rows`` once ``when(output)`` is true, as a
    person dragging the window's edge does: the tty sends the program SIGWINCH. ``at`` is set
    to where in the output it happened (what came before was drawn for the old size)."""

    when: Callable[[str], bool]
    columns: int
    rows: int
    at: int | None = None


def set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def run_on_a_pty(args: list[str], env: dict[str, str], cwd: Path, *,
                 columns: int | None = None, rows: int | None = None,
                 ctrl_c_when: Callable[[str], bool] | None = None,
                 resizes: Sequence[Resize] = (), limit: float = 60) -> PtyRun:
    """`python -m jobwatch ARGS` with the pty as its controlling terminal (echo and echoctl
    on, as a user's shell leaves them), ``columns`` x ``rows`` if given; with
    ``ctrl_c_when(output)``, type Ctrl-C once it is true; each of ``resizes`` in turn, once
    its condition is true. Reads until the child has closed the
    pty or ended, or ``limit`` seconds have passed. Returns the exit code, all the output and
    how long it ran."""
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] |= termios.ECHO | termios.ECHOCTL | termios.ISIG | termios.ICANON
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    if columns is not None and rows is not None:
        set_size(slave, columns, rows)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, *args], cwd=cwd, env=env,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output = b""
    typed = ended = False
    pending = list(resizes)
    try:
        while time.monotonic() - started < limit:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child has closed its end
                    break
                if not chunk:
                    break
                output += chunk
            elif ended:  # nothing more came after it ended: all it wrote has been read
                break
            else:
                ended = proc.poll() is not None
            if not pending and (ctrl_c_when is None or typed):
                continue
            text = output.decode("utf-8", "replace")
            if ctrl_c_when is not None and not typed and ctrl_c_when(text):
                os.write(master, b"\x03")
                typed = True
            if pending and pending[0].when(text):
                resize = pending.pop(0)
                resize.at = len(text)
                set_size(master, resize.columns, resize.rows)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return PtyRun(code, output.decode("utf-8", "replace"), time.monotonic() - started)
