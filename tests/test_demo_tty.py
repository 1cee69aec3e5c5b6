"""`jobwatch demo` on a terminal: a pseudo-terminal stands in for the user's, so the live display
(rich bars redrawn in place) and a real Ctrl-C (the byte 0x03, turned into SIGINT by the tty)
are exercised end to end, not only the renderer's unit tests."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.ptyutil import Resize, run_on_a_pty
from tests.vt import Screen

DEMO_TIMEOUT = 90
COLUMNS, ROWS = 120, 40
BAR = "━"
# What a live display does and plain lines never do: hide the cursor, move up, erase a line.
CURSOR_CONTROL = re.compile(r"\x1b\[\?25l|\x1b\[\d*A|\x1b\[2K")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")]


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


def run_on_a_tty(base: Path, *, ctrl_c_after: str | None = None, columns: int = COLUMNS,
                 rows: int = ROWS, resizes: tuple[Resize, ...] = ()) -> TtyRun:
    """`jobwatch demo` with stdin, stdout and stderr on a pseudo-terminal, 120x40 unless
    told. With ``ctrl_c_after``, Ctrl-C is typed once that text has been drawn."""
    run = TtyRun(base)
    for folder in (run.cwd, run.tmp):
        folder.mkdir(parents=True, exist_ok=True)
    env = clean_env(base, TMPDIR=str(run.tmp), TERM="xterm-256color")
    for name in ("COLUMNS", "LINES", "TMUX", "XTERM_VERSION"):
        env.pop(name, None)  # the terminal's own size, as for a person
    ctrl_c_when = None if ctrl_c_after is None else (lambda output: ctrl_c_after in output)
    run.returncode, run.output, _ = run_on_a_pty(["demo"], env, run.cwd, columns=columns,
                                                 rows=rows, ctrl_c_when=ctrl_c_when,
                                                 resizes=resizes, limit=DEMO_TIMEOUT)
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


# -- 80 columns --------------------------------------------------------------------------------

LIVE_ROW = re.compile(r"^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓✗…■!] \S")  # a mark or spinner, then a label
SHELL = "$ an earlier command\r\n"


@pytest.fixture
def short_base() -> Iterator[Path]:
    """A short temporary folder: the demo's own last lines name it whole."""
    base = Path(tempfile.mkdtemp(prefix="jw", dir="/tmp"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def bar_widths(output: str) -> set[int]:
    """The width of every bar drawn in every frame of the output."""
    text = ANSI.sub("", output)
    rows = [row for row in re.split(r"[\r\n]+", text) if LIVE_ROW.match(row)]
    return {len(bar) for row in rows for bar in re.findall(r"(?<= )[━╸─]+(?= )", row)}


def test_the_demo_on_80_by_24_fits_and_keeps_one_bar_width(short_base: Path) -> None:
    run = run_on_a_tty(short_base, columns=80, rows=24)
    assert run.returncode == 0, run.output
    screen = Screen(24, 80).feed(run.output)
    text = screen.text()
    assert screen.wrapped() == [], "a line ran past 80 columns and the terminal cut it"
    assert [line for line in text if LIVE_ROW.match(line)] == []
    assert any(re.match(r"^claret 1001\s+succeeded \(watched \d+s\)", line) for line in text)
    assert text[0].startswith("jobwatch demo: a simulator")  # its first line whole too
    # Every file the summary names, whole: the demo lists them at its end.
    listed = [line.strip() for line in text if line.startswith("  claret-1001/")]
    named = {token.strip("(),") for line in text for token in line.split()}
    assert len(listed) == 4
    assert sum(name.removeprefix("claret-1001/") in named for name in listed) == 3, text
    # Not 24, then 13, then 10 cells wide as the step column and the ↳ row come.
    assert len(bar_widths(run.output)) == 1, bar_widths(run.output)


def test_a_resize_leaves_no_rows_behind(short_base: Path) -> None:
    # After the terminal narrows and widens again, no top row of the last frame may stay
    # above the summary. The terminal here re-wraps its rows, as tmux, VTE, iTerm2 and
    # kitty do; the screen had a shell session on it before.
    narrow = Resize(lambda output: output.count(BAR) > 100, 50, 24)
    wide = Resize(lambda output: narrow.at is not None and len(output) > narrow.at + 2500,
                  80, 24)
    run = run_on_a_tty(short_base, columns=80, rows=24, resizes=(narrow, wide))
    assert run.returncode == 0, run.output
    assert narrow.at is not None and wide.at is not None, "the demo ended before the resizes"
    screen = Screen(24, 80, reflow=True).feed(SHELL * 18)
    screen.feed(run.output[:narrow.at]).resize(24, 50)
    screen.feed(run.output[narrow.at:wide.at]).resize(24, 80)
    text = screen.feed(run.output[wide.at:]).text()
    assert [line for line in text if LIVE_ROW.match(line)] == [], "\n".join(text)
    assert text.count(SHELL.strip()) == 18
    assert any(re.match(r"^claret 1001\s+succeeded", line) for line in text), text
