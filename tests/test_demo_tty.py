"""`jobwatch demo` on a terminal: a pseudo-terminal stands in for the user's, so the live display
(rich bars redrawn in place) and a real Ctrl-C (the byte 0x03, turned into SIGINT by the tty)
are exercised end to end, not only the renderer's unit tests."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import clean_env

DEMO_TIMEOUT = 90
COLUMNS, ROWS = 120, 40
BAR = "━"
# What a live display does and plain lines never do: hide the cursor, move up, erase a line.
CURSOR_CONTROL = re.compile(r"\x1b\[\?25l|\x1b\[\d*A|\x1b\[2K")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def _controlling_tty() -> None:
    # In the child: a session of its own with the pty as its terminal, so 0x03 written to the
    # pty becomes SIGINT for it, as Ctrl-C does; and the SIGINT a terminal would deliver.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class TtyRun:
    base: Path
    returncode: int = -1
    output: str = ""

    @property
    def tmp(self) -> Path:
        return self.base / "tmp"

    @property
    def cwd(self) -> Path:
        return self.base / "work"


def run_on_a_tty(base: Path, *, ctrl_c_after: str | None = None) -> TtyRun:
    """`jobwatch demo` with stdin, stdout and stderr on a 120x40 pseudo-terminal. With
    ``ctrl_c_after``, Ctrl-C is typed once that text has been drawn."""
    run = TtyRun(base)
    for folder in (run.cwd, run.tmp):
        folder.mkdir(parents=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = clean_env(base, TMPDIR=str(run.tmp), TERM="xterm-256color")
    env.pop("COLUMNS", None)  # the terminal's own size, as for a person
    process = subprocess.Popen([sys.executable, "-m", "jobwatch", "demo"], cwd=run.cwd,
                               stdin=slave, stdout=slave, stderr=slave, env=env,
                               start_new_session=True, preexec_fn=_controlling_tty)
    os.close(slave)
    chunks: list[bytes] = []
    typed = False
    try:
        deadline = time.monotonic() + DEMO_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child has closed its end
                    break
                if not data:
                    break
                chunks.append(data)
            if (ctrl_c_after is not None and not typed
                    and ctrl_c_after in b"".join(chunks).decode("utf-8", "replace")):
                os.write(master, b"\x03")
                typed = True
        run.returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    run.output = b"".join(chunks).decode("utf-8", "replace")
    return run


def test_the_demo_draws_live_bars_on_a_terminal(tmp_path: Path) -> None:
    run = run_on_a_tty(tmp_path)
    assert run.returncode == 0, run.output
    assert "Traceback" not in run.output
    assert BAR in run.output, "no progress bar was drawn"
    assert CURSOR_CONTROL.search(run.output), "the display was not redrawn in place"
    assert not re.search(r"^\[\s*\d+s\] ", run.output, re.M), "plain lines on a terminal"
    assert "\x1b[?25h" in run.output, "the cursor was not shown again"
    # The closing table, then the demo's own words.
    text = ANSI.sub("", run.output)
    assert re.search(r"^claret 1001\s+succeeded", text, re.M), text
    assert "merchantops enr_7Hq2: 4 error(s)" in text, text  # the error table, above the bars
    assert "Downloads and error reports are in " in text


def test_ctrl_c_on_a_terminal_ends_the_demo_honestly(tmp_path: Path) -> None:
    run = run_on_a_tty(tmp_path, ctrl_c_after=BAR)  # as soon as the first bar is drawn
    assert run.returncode == 130, run.output
    assert "demo interrupted" in run.output, run.output
    assert "resume with:" not in run.output
    assert "keep running" not in run.output
    assert "Traceback" not in run.output
    # The live display hid the cursor; the demo shows it again after the last frame.
    assert run.output.rfind("\x1b[?25h") > run.output.rfind("\x1b[?25l")
    assert list(run.tmp.iterdir()) == [], "the empty download folder was left behind"
    assert list(run.cwd.iterdir()) == []
