"""`jobwatch demo` on a terminal: a pseudo-terminal stands in for the user's, so the live display
(rich bars redrawn in place) and a real Ctrl-C (the byte 0x03, turned into SIGINT by the tty)
are exercised end to end, not only the renderer's unit tests."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.ptyutil import run_on_a_pty

DEMO_TIMEOUT = 90
COLUMNS, ROWS = 120, 40
BAR = "━"
# What a live display does and plain lines never do: hide the cursor, move up, erase a line.
CURSOR_CONTROL = re.compile(r"\x1b\[\?25l|\x1b\[\d*A|\x1b\[2K")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


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
    env = clean_env(base, TMPDIR=str(run.tmp), TERM="xterm-256color")
    env.pop("COLUMNS", None)  # the terminal's own size, as for a person
    ctrl_c_when = None if ctrl_c_after is None else (lambda output: ctrl_c_after in output)
    run.returncode, run.output, _ = run_on_a_pty(["demo"], env, run.cwd, columns=COLUMNS,
                                                 rows=ROWS, ctrl_c_when=ctrl_c_when,
                                                 limit=DEMO_TIMEOUT)
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
