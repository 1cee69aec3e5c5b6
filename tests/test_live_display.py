"""The live display: bounded redraws at any number of jobs, rows that fit the terminal, and a
real terminal's Ctrl-C (the tty echoes "^C") that leaves no half-drawn row behind.

The pty tests render the final screen with a small VT emulation (tests/vt.py), so "what the
user sees" is checked, not only which bytes were written."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

from jobwatch.engine import Watch
from jobwatch.live.layout import MARGIN
from jobwatch.live.region import live_region, terminal_reflows
from jobwatch.live.renderer import LiveRenderer
from jobwatch.live.rows import eta_seconds
from jobwatch.models import Job, JobState
from tests.conftest import clean_env, provider_env
from tests.fakeserver import FakeServer, Reply, json_reply
from tests.helpers import frame_lines, live
from tests.ptyutil import run_on_a_pty
from tests.vt import Screen

BAR = "━"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def running_job(watch: Watch, progress: float | None = 0.25,
                message: str = "Validating rows") -> Job:
    done = None if progress is None else round(progress * 8)
    return Job(provider=watch.provider, job_id=watch.job_id, state=JobState.RUNNING,
               status="in_progress", progress=progress, done=done, total=8, unit="steps",
               message=message)


class CountingRefresh:
    def __init__(self, renderer: LiveRenderer) -> None:
        self.count = 0
        original = renderer.live.refresh

        def refresh() -> None:
            self.count += 1
            original()

        renderer.live.refresh = refresh  # type: ignore[method-assign]


# -- scale: redraws bounded at any number of jobs --------------------------------------------


def test_300_jobs_redraw_at_most_about_ten_times_a_second() -> None:
    renderer, clock, _ = live()
    watches = [Watch("claret", str(i)) for i in range(300)]
    renderer.start(watches)
    counter = CountingRefresh(renderer)
    for watch in watches:  # every job added and answered at once: no redraw per event
        renderer.add(watch)
        watch.job = running_job(watch)
        renderer.update(watch)
    assert counter.count == 0
    # Three seconds of a busy fleet: 10 answers every 10 ms, the loop ticking each time.
    for step in range(300):
        clock.now = step * 0.01
        for watch in watches[(step * 10) % 300:(step * 10) % 300 + 10]:
            watch.job = running_job(watch, 0.5)
            renderer.update(watch)
        renderer.tick(clock.now)
    assert 20 <= counter.count <= 3 * 10 + 2
    for watch in watches:  # 300 jobs ending: no forced redraw each
        watch.outcome, watch.ended_at = "succeeded", clock.now
        renderer.update(watch)
    assert counter.count <= 3 * 10 + 2


def test_one_redraw_renders_no_more_rows_than_fit_and_says_how_many_more() -> None:
    renderer, clock, _ = live(width=120, height=30)
    watches = [Watch("claret", str(i)) for i in range(300)]
    renderer.start(watches)
    built: list[Any] = []
    row = renderer.book.row
    renderer.book.row = lambda w, now: built.append(w) or row(w, now)  # type: ignore
    for watch in watches[:250]:
        watch.job = running_job(watch)
        renderer.update(watch)
    for watch in watches[250:]:
        watch.job = running_job(watch)
        watch.outcome, watch.ended_at = "succeeded", 0.0
        renderer.update(watch)
    clock.now = 60.0  # the ends are no longer recent: running jobs come first
    lines = frame_lines(renderer)
    assert len(lines) <= 30 - 1
    assert len(built) <= 30  # the work of a redraw is O(rows shown), not O(jobs)
    assert lines[-1].startswith("… ") and "more: " in lines[-1]
    hidden = 300 - (len(lines) - 1)
    assert f"… {hidden} more: " in lines[-1]
    assert "50 succeeded" in lines[-1] and f"{hidden - 50} running" in lines[-1]
    assert all("running" in line for line in lines[:-1])


def test_a_job_that_just_ended_keeps_its_row_when_rows_run_short() -> None:
    renderer, clock, _ = live(height=12)
    watches = [Watch("claret", str(i)) for i in range(50)]
    renderer.start(watches)
    for watch in watches:
        watch.job = running_job(watch)
        renderer.update(watch)
    clock.now = 3.0
    last = watches[-1]
    last.job = Job(provider="claret", job_id=last.job_id, state=JobState.FAILED, status="failed")
    last.outcome, last.ended_at = "failed", 3.0
    renderer.update(last)
    assert any(line.split()[1:3] == ["claret", "49"] for line in frame_lines(renderer))


def test_the_spinner_moves_about_eight_times_a_second_while_nothing_changes() -> None:
    renderer, clock, _ = live()
    watch = Watch("claret", "1")
    renderer.start([watch])
    watch.job = running_job(watch, None)
    renderer.update(watch)
    counter = CountingRefresh(renderer)
    frames = set()
    wish = renderer.tick(clock.now)
    for _ in range(40):  # the engine sleeps until the wished time, then ticks
        assert wish is not None and wish - clock.now <= 0.2
        clock.now = wish
        wish = renderer.tick(clock.now)
        frames.add(frame_lines(renderer)[0][0])
    assert counter.count >= 30  # ~8 a second over ~5 s of idling
    assert len(frames) > 3  # the spinner's frame changes


def test_rows_stay_narrower_than_the_terminal_and_keep_room_for_the_step() -> None:
    for width in (60, 80, 100, 160):
        renderer, clock, _ = live(width=width)
        watches = [Watch("claret", "2130"), Watch("claret", "3120")]
        renderer.start(watches)
        for watch in watches:
            watch.job = running_job(watch, 0.25, "Validating rows")
            renderer.update(watch)
        lines = frame_lines(renderer)
        # The tty's "^C" echo after the last row must fit on that row.
        assert all(len(line) <= width - MARGIN for line in lines), (width, lines)
        if width >= 80:
            assert all("Validating rows" in line for line in lines), (width, lines)
        if width >= 100:
            assert all(BAR in line for line in lines), (width, lines)


def test_a_related_job_sits_under_its_parent_with_a_marker() -> None:
    renderer, _, _ = live()
    parent, other = Watch("retailgrid", "p-1"), Watch("retailgrid", "q-2")
    watches = [parent, other]
    renderer.start(watches)
    child = Watch("retailgrid", "r-3", parent=parent)
    watches.insert(1, child)  # as the engine does: right after its parent
    renderer.add(child)
    lines = frame_lines(renderer)
    assert "retailgrid p-1" in lines[0]
    assert "↳ retailgrid r-3" in lines[1]
    assert "retailgrid q-2" in lines[2]


def test_eta_comes_from_progress_seen_during_this_watch() -> None:
    assert eta_seconds(None, None, 5.0) is None
    assert eta_seconds((0.0, 0.4), (0.0, 0.4), 30.0) is None  # resumed at 40%: no guess
    assert eta_seconds((0.0, 0.4), (20.0, 0.4), 30.0) is None  # has not moved
    # 0.4 -> 0.6 in 20 s: 0.01 a second, 0.4 left = 40 s from t=20, so 30 s at t=30.
    assert eta_seconds((0.0, 0.4), (20.0, 0.6), 30.0) == pytest.approx(30.0)
    assert eta_seconds((0.0, 0.4), (20.0, 0.6), 90.0) == 0.0
    assert eta_seconds((0.0, 0.4), (20.0, 1.0), 20.0) is None


def test_the_live_row_shows_the_eta_only_once_progress_has_moved() -> None:
    renderer, clock, _ = live()
    watch = Watch("claret", "1", started=0.0)
    renderer.start([watch])
    watch.job = running_job(watch, 0.375)  # a resumed watch: 3/8 done before we looked
    renderer.update(watch)
    clock.now = 4.0
    assert "eta" not in frame_lines(renderer)[0]
    clock.now = 10.0
    watch.job = running_job(watch, 0.5)
    renderer.update(watch)
    assert "10s eta 40s" in frame_lines(renderer)[0]


def test_a_retry_notice_shows_on_the_jobs_row() -> None:
    renderer, _, _ = live()
    watch = Watch("claret", "1")
    renderer.start([watch])
    watch.job = running_job(watch, 1.0)
    renderer.update(watch)
    renderer.problem(watch, "retrying in 65s: HTTP 503")
    assert "retrying in 65s: HTTP 503" in frame_lines(renderer)[0]


# -- the closing output ------------------------------------------------------------------------


def test_a_users_own_stop_is_not_shown_in_red() -> None:
    renderer, _, out = live()
    stopped = Watch("claret", "1", started=0.0)
    stopped.job = running_job(stopped)
    stopped.outcome = "interrupted"
    renderer.start([stopped])
    renderer.finish([stopped], 130)
    text = out.getvalue()
    row = next(line for line in text.splitlines() if "claret 1" in line and "watched" in line)
    assert "\x1b[33m" in row and "\x1b[31m" not in row


def test_interrupted_and_timed_out_rows_say_it_once_and_fit_in_120_columns() -> None:
    renderer, _, out = live(width=120)
    watches = []
    for job_id, outcome in (("2130", "interrupted"), ("3120", "timeout")):
        watch = Watch("claret", job_id, started=0.0)
        watch.job = running_job(watch, 0.0, "Reading file")
        watch.outcome = outcome
        watches.append(watch)
    renderer.start(watches)
    renderer.finish(watches, 130)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    rows = [line for line in text.splitlines() if line.startswith("claret ")]
    assert len(rows) == 2, text  # one line each: nothing wrapped
    for row in rows:
        assert row.count("0/8 steps") == 1, row  # the progress column only
        assert "running (in_progress)" not in row and "Reading file" in row


def test_the_closing_output_says_where_the_files_went(tmp_path: Path, monkeypatch) -> None:
    from jobwatch.artifacts import Saved

    monkeypatch.chdir(tmp_path)
    renderer, _, out = live()
    watch = Watch("claret", "2008", started=0.0, ended_at=8.0, outcome="succeeded")
    watch.job = Job(provider="claret", job_id="2008", state=JobState.SUCCEEDED,
                    status="completed")
    folder = tmp_path / "claret-2008"
    watch.downloads = [Saved("output", folder / "output" / "out.csv", 10),
                       Saved("errors", folder / "errors" / "e.csv", 3)]
    renderer.start([watch])
    renderer.finish([watch], 0)
    assert ("claret 2008: saved 2 files in ./claret-2008/ (output/out.csv, errors/e.csv)"
            in out.getvalue())


# -- on a pseudo-terminal ----------------------------------------------------------------------


def test_the_screen_emulation_wraps_like_a_terminal() -> None:
    screen = Screen(4, 5).feed("abcde^C\r\x1b[2K\x1b[1A\x1b[2K")
    assert screen.text() == ["", "", "", ""]  # wrapped "^C" line and the row above, erased
    screen = Screen(4, 5).feed("abc^C\r\x1b[2K")  # no wrap: one row to erase
    assert screen.text() == ["", "", "", ""]


def claret(job_id: int, status: str, done: int = 0, step: str | None = "Validating rows"
           ) -> Reply:
    return json_reply({"message": "ok", "content": {
        "job_log_id": job_id, "status": status, "type": "inventory-import",
        "progress": {"completed_steps": done, "total_steps": 8, "current_step": step},
        "files": {}, "timestamps": {"started_at": None, "completed_at": None}}})


def pty_env(tmp_path: Path, fake: FakeServer, columns: int, rows: int) -> dict[str, str]:
    return clean_env(tmp_path, TERM="xterm-256color", COLUMNS=str(columns), LINES=str(rows),
                     **provider_env(fake, "claret"))


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 120])
def test_ctrl_c_on_a_terminal_leaves_no_half_drawn_bar(fake, tmp_path, columns) -> None:
    # Rows as wide as the terminal make the tty's "^C" echo wrap, and the final erase then
    # leaves the top row on screen above the summary.
    rows = 30
    for job_id in (2130, 3120, 2145):
        fake.route(f"/acme/api/v1/imports/status/{job_id}", claret(job_id, "in_progress", 2))
    work = tmp_path / "work"
    work.mkdir()
    code, output, _ = run_on_a_pty(
        ["wait", "claret", "2130", "3120", "2145", "--interval", "0.5"],
        pty_env(tmp_path, fake, columns, rows), work, columns=columns, rows=rows,
        ctrl_c_when=lambda text: text.count(BAR) > 3 * 24 * 2)  # a few frames drawn
    assert code == 130, output
    assert "^C" in output  # the tty did echo it
    assert "\x1b[?25h" in output  # the cursor is shown again
    screen = Screen(rows, columns).feed(output).text()
    assert not [line for line in screen if BAR in line], "\n".join(screen)
    summary = [line for line in screen if line.startswith("claret ")]
    assert [line.split()[1] for line in summary] == ["2130", "3120", "2145"], screen
    assert any("resume with: jobwatch wait claret 2130 3120 2145" in line for line in screen)


@pytest.mark.slow
def test_a_hundred_jobs_on_a_terminal_finish_in_a_few_seconds(fake, tmp_path) -> None:
    # Redrawing every job, not only the rows shown, would cost ~21 s of CPU here. Each job
    # needs 3 polls.
    ids = [str(5000 + i) for i in range(100)]
    for job_id in ids:
        fake.route(f"/acme/api/v1/imports/status/{job_id}", claret(int(job_id), "in_progress", 2),
                   claret(int(job_id), "in_progress", 5), claret(int(job_id), "completed", 8))
    work = tmp_path / "work"
    work.mkdir()
    code, output, elapsed = run_on_a_pty(
        ["wait", "claret", *ids, "--interval", "0.5", "--no-download"],
        pty_env(tmp_path, fake, 150, 50), work, columns=150, rows=50)
    assert code == 0, output[-3000:]
    assert elapsed < 10, elapsed  # ideal: 2 intervals + start-up
    assert BAR in output and "more: " in output  # drawn live, rows beyond the screen summed up
    assert all(fake.hits(f"/acme/api/v1/imports/status/{job_id}") == 3 for job_id in ids)


def test_many_downloads_at_once_still_fit_the_terminal() -> None:
    renderer, _, _ = live(height=12)
    watches = [Watch("claret", str(i)) for i in range(20)]
    renderer.start(watches)
    for watch in watches:
        renderer.download_progress(watch).start(f"file-{watch.job_id}.csv", 1000)
    lines = frame_lines(renderer)
    assert len(lines) <= 12 - 1
    assert "↓ 20 files downloading" in lines[-1]


# -- the region a resize re-wraps --------------------------------------------------------------


@pytest.mark.parametrize(("reflows", "rows"), [(True, 6), (False, 3)])
def test_the_way_back_up_counts_the_rows_a_narrower_terminal_made(reflows: bool,
                                                                   rows: int) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, height=24)
    live = live_region(console, lambda: Text("\n".join(["x" * 70] * 3)), reflows)
    live.start()
    live.refresh()
    console.width = 50  # 70 cells re-wrap into two rows each, where the terminal reflows
    drawn = len(out.getvalue())
    live.refresh()
    assert out.getvalue()[drawn:].startswith("\r\x1b[2K" + "\x1b[1A\x1b[2K" * (rows - 1) + "x")
    live.stop()


TERMINALS = [
    ({"TERM": "xterm-256color"}, True),  # VTE, iTerm2, Terminal.app, Windows Terminal...
    ({"TERM": "xterm-kitty"}, True),
    ({"TERM": "screen-256color", "TMUX": "/tmp/tmux-0/default,1,0"}, True),
    ({"TERM": "xterm-256color", "XTERM_VERSION": "XTerm(390)"}, False),
    ({"TERM": "rxvt-unicode-256color"}, False),
    ({"TERM": "linux"}, False),
]


@pytest.mark.parametrize(("env", "reflows"), TERMINALS)
def test_which_terminals_re_wrap_their_rows(env: dict[str, str], reflows: bool) -> None:
    assert terminal_reflows(env) is reflows
