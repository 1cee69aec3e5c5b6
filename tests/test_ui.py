"""The renderers' output, drawn into a string: the live renderer's closing summary at several
terminal widths, the plain log for CI, and the closing notes and resume commands of both."""

from __future__ import annotations

import io
import re

import pytest

from jobwatch.closing import closing
from jobwatch.engine import Watch
from jobwatch.live.renderer import LiveRenderer
from jobwatch.models import Job, JobState
from jobwatch.ui import PlainRenderer
from jobwatch.words import tally
from tests.helpers import Clock, frame_lines, live

LONG_ID = "3f2a1b6c-1111-2222-3333-444455556666"


# -- the live renderer's closing summary --------------------------------------------------------


def finished(job_id: str, state: str, outcome: str, message: str | None = None) -> Watch:
    watch = Watch(provider="retailgrid", job_id=job_id, started=0.0)
    watch.job = Job(provider="retailgrid", job_id=job_id, state=JobState(state), status=state,
                    progress=1.0, done=100, total=100, unit="percent", message=message)
    watch.outcome = outcome
    watch.ended_at = 12.0
    return watch


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_closing_summary_keeps_ids_whole_and_outcome_readable(width: int) -> None:
    out = io.StringIO()
    renderer = LiveRenderer(out, clock=lambda: 12.0)
    renderer.console.width = width
    watches = [finished(LONG_ID, "succeeded", "succeeded"),
               finished("7", "failed", "failed", message="the import had 3 errors")]
    renderer.finish(watches, 1)
    text = out.getvalue()
    lines = text.splitlines()
    assert any(LONG_ID in line for line in lines), text  # never cut or wrapped
    assert "…" not in text
    words = text.split()
    for word in "failed: the import had 3 errors succeeded (watched 12s) 100%".split():
        assert word in words, text  # the outcome column never shrinks to nothing
    assert all(len(line) <= width for line in lines if LONG_ID not in line)


# -- the plain renderer (CI logs) ----------------------------------------------------------------


def running(watch: Watch, done: int = 3) -> Job:
    return Job(provider=watch.provider, job_id=watch.job_id, state=JobState.RUNNING,
               status="in_progress", progress=done / 8, done=done, total=8, unit="steps",
               message="Validating rows")


def plain() -> tuple[PlainRenderer, Clock, io.StringIO]:
    clock = Clock()
    out = io.StringIO()
    return PlainRenderer(out, clock), clock, out


def test_heartbeat_at_least_every_minute_when_nothing_changes() -> None:
    renderer, clock, out = plain()
    watch = Watch("claret", "1")
    renderer.start([watch])
    watch.job = running(watch)
    renderer.update(watch)
    clock.now = 59.0
    assert renderer.tick(59.0) == pytest.approx(60.0)  # when it next wants the loop back
    assert "still waiting" not in out.getvalue()
    clock.now = 60.0
    assert renderer.tick(60.0) == pytest.approx(120.0)
    assert out.getvalue().splitlines()[-1] == (
        "[ 1m00s] still waiting: claret 1 running (in_progress)  3/8 steps (38%)  "
        "Validating rows")
    clock.now = 100.0
    renderer.problem(watch, "HTTP 503; retry 1/9 in 2.0s")  # any line counts as a sign of life
    assert renderer.tick(100.0) == pytest.approx(160.0)


def test_a_running_download_prints_progress_every_15_seconds_even_when_stalled() -> None:
    renderer, clock, out = plain()
    watch = Watch("claret", "1")
    renderer.start([watch])
    progress = renderer.download_progress(watch)
    progress.start("big.bin", 100 << 20)
    for second in range(1, 16):
        clock.now = float(second)
        progress.advance(1 << 20)
    assert out.getvalue().splitlines()[-1] == (
        "[   15s] claret 1: downloading big.bin: 15.0 MiB of 100.0 MiB, 1.0 MiB/s")
    # Stalled: no chunk arrives, so the loop's tick says so; and it asks to be woken for it.
    assert renderer.tick(15.0) == pytest.approx(30.0)
    clock.now = 30.0
    renderer.tick(30.0)
    assert "downloading big.bin: 15.0 MiB of 100.0 MiB, 512.0 KiB/s" in out.getvalue()
    progress.finish("big.bin", True)
    assert out.getvalue().splitlines()[-1].endswith("claret 1: saved big.bin (15.0 MiB)")
    assert renderer.tick(31.0) == pytest.approx(90.0)  # no download to report any more


def test_the_heartbeat_names_a_running_download() -> None:
    clock = Clock()
    out = io.StringIO()
    renderer = PlainRenderer(out, clock, heartbeat=10.0)
    watch = Watch("claret", "1")
    renderer.start([watch])
    renderer.download_progress(watch).start("big.bin", 1 << 20)
    clock.now = 10.0
    renderer.tick(10.0)
    assert out.getvalue().splitlines()[-1] == (
        "[   10s] still waiting: claret 1 downloading big.bin: 0 B of 1.0 MiB, 0 B/s")


def test_the_plain_log_ends_with_a_line_per_job(tmp_path, monkeypatch) -> None:
    from jobwatch.artifacts import Saved

    monkeypatch.chdir(tmp_path)
    renderer, clock, out = plain()
    ok = finished("10", "succeeded", "succeeded")
    ok.downloads = [Saved("output", tmp_path / "retailgrid-10" / "out.csv", 3)]
    bad = finished("11", "failed", "failed", message="Row 412: bad price")
    left = Watch("retailgrid", "12", started=0.0)
    left.job = running(left, 5)
    left.outcome = "timeout"
    renderer.start([ok, bad, left])
    clock.now = 12.0
    renderer.finish([ok, bad, left], 1)
    lines = out.getvalue().splitlines()
    start = lines.index("[   12s] done (exit 1): 1 succeeded, 1 failed, 1 timed out")
    assert lines[start + 1:start + 4] == [
        "[   12s]   retailgrid 10: succeeded (watched 12s); saved 1 file in ./retailgrid-10/"
        " (out.csv)",
        "[   12s]   retailgrid 11: failed: Row 412: bad price (watched 12s)",
        "[   12s]   retailgrid 12: still running at the timeout (5/8 steps (62%), "
        "Validating rows)"]


# -- closing notes and resume commands ---------------------------------------------------------


@pytest.mark.parametrize("code", [1, 124])
def test_a_job_left_running_gets_its_note_and_resume_command_whatever_the_exit_code(
        code: int) -> None:
    # With mixed outcomes (exit 1) too, not only at a timeout (124).
    renderer, _, out = plain()
    renderer.resume = lambda watches: ["jobwatch wait retailgrid 12"]
    bad = finished("11", "failed", "failed")
    left = Watch("retailgrid", "12", started=0.0)
    left.job = running(left, 5)
    left.outcome = "timeout"
    renderer.finish([bad, left], code)
    text = out.getvalue()
    assert "timed out with 1 job(s) still running: retailgrid 12 (5/8 steps (62%), " in text
    assert "resume with: jobwatch wait retailgrid 12" in text


def test_after_fail_fast_the_jobs_no_longer_watched_get_a_resume_command() -> None:
    renderer, _, out = plain()
    renderer.resume = lambda watches: ["jobwatch wait claret 2011 2013 --fail-fast"]
    watches = [Watch("claret", "2011"), finished("3004", "failed", "failed"),
               Watch("claret", "2013")]
    watches[0].outcome = watches[2].outcome = "interrupted"
    renderer.finish(watches, 1)
    text = out.getvalue()
    assert ("stopped watching after retailgrid 3004 ended failed; still running, no longer "
            "watched: claret 2011, claret 2013") in text
    assert "resume with: jobwatch wait claret 2011 2013 --fail-fast" in text


def test_a_watch_that_cannot_be_resumed_says_it_stopped() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out, Clock(), resume=lambda ws: ["jobwatch wait claret 1"],
                             resumable=False)
    watch = Watch("claret", "1")
    watch.outcome = "interrupted"
    renderer.finish([watch], 130)
    text = out.getvalue()
    assert "interrupted: the watch stopped" in text
    assert "keep running" not in text and "resume with" not in text


def ended(job_id: str, outcome: str, state: JobState = JobState.SUCCEEDED) -> Watch:
    watch = Watch("claret", job_id, started=0.0, ended_at=2.0, outcome=outcome)
    watch.job = Job(provider="claret", job_id=job_id, state=state, status=state.value)
    return watch


def notes(watches: list[Watch], code: int) -> list[str]:
    end = closing(watches, code, lambda ws: ["jobwatch download claret 2"])
    return [*end.notes, *(f"resume with: {command}" for command in end.resume)]


def test_a_job_that_had_ended_is_never_called_still_running() -> None:
    failed = ended("1", "failed", JobState.FAILED)
    cut = ended("2", "interrupted")  # --fail-fast stopped its downloads
    text = "\n".join(notes([failed, cut], 1))
    assert "still running" not in text
    assert "stopped watching after claret 1 ended failed; ended, downloads cut short: claret 2" \
        in text
    assert "resume with: jobwatch download claret 2" in text


def test_ctrl_c_after_every_job_ended_does_not_say_they_keep_running() -> None:
    text = "\n".join(notes([ended("904", "interrupted")], 130))
    assert "keep running" not in text
    assert "interrupted: downloads stopped; the jobs had ended" in text
    running = Watch("claret", "905", started=0.0, outcome="interrupted")
    text = "\n".join(notes([ended("904", "interrupted"), running], 130))
    assert "interrupted: the remote jobs keep running; jobwatch only stopped watching" in text


def test_the_plain_renderer_resumes_through_a_callable() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out, Clock())
    watch = Watch("claret", "1", outcome="timeout")
    renderer.finish([watch], 124)  # no resume given: no command, and no failure
    assert "resume with" not in out.getvalue()


def test_one_tally_for_the_closing_line_and_the_more_line() -> None:
    waiting = Watch("claret", "3")
    running = Watch("claret", "4")
    running.job = Job(provider="claret", job_id="4", state=JobState.RUNNING, status="running")
    watches = [ended("1", "succeeded"), ended("2", "not_found"), waiting, running,
               ended("5", "timeout"), ended("6", "succeeded")]
    assert tally(watches) == "2 succeeded, 1 not found, 1 waiting, 1 running, 1 timed out"
    renderer, _, _ = live(120, height=4)
    renderer.start(watches)
    assert frame_lines(renderer)[-1].startswith("… ")
    assert re.fullmatch(r"… \d more: .*", frame_lines(renderer)[-1])


def test_long_lists_of_jobs_are_named_up_to_a_limit_in_the_plain_log() -> None:
    # 10,000 ids from stdin: the first line and the timeout note stay readable lines; the
    # resume command (a here-document by then) still lists every job.
    from jobwatch.words import NAMED as NOTED_JOBS

    renderer, _, out = plain()
    renderer.resume = lambda watches: ["jobwatch wait claret - <<'JOBWATCH_JOBS'"]
    watches = [Watch("claret", str(n), started=0.0) for n in range(1, NOTED_JOBS + 6)]
    renderer.start(watches)
    for watch in watches:
        watch.outcome = "timeout"
    renderer.finish(watches, 124)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(f"watching {NOTED_JOBS + 5} jobs: claret 1, claret 2, claret 3, "
                             + ", ".join(f"claret {n}" for n in range(4, NOTED_JOBS + 1))
                             + ", … and 5 more")
    note = next(line for line in lines if "timed out with" in line)
    assert note.count("(no answer yet)") == NOTED_JOBS
    assert note.endswith("; … and 5 more")
    assert max(len(line) for line in lines) < 1000


def test_a_short_list_of_jobs_is_named_whole() -> None:
    renderer, _, out = plain()
    renderer.start([Watch("claret", "1", started=0.0), Watch("julep", "x", started=0.0)])
    assert out.getvalue().splitlines()[0].endswith("] watching claret 1, julep x")
