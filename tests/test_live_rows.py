"""The live rows at the widths people use (80 columns, and narrower): ids stay whole and every
row keeps a bar; amounts are said shorter and provider words give way first; columns never
jump back during a run; a resize lays the rows out again; files count in binary units."""

from __future__ import annotations

import functools
import re
from types import SimpleNamespace
from typing import Any

import pytest

from jobwatch.engine import Watch
from jobwatch.live.layout import MARGIN, MIN_BAR
from jobwatch.live.paint import BinaryRate
from jobwatch.live.renderer import LiveRenderer
from jobwatch.models import Job, JobState
from jobwatch.ui import progress_text
from tests import helpers
from tests.helpers import frame_lines

BAR = "━"

# The live renderer at the widths of these tests, on a terminal 30 rows high.
live = functools.partial(helpers.live, height=30)


def bar_width(line: str) -> int:
    return max((len(run) for run in re.findall(r"[━╸]+", line)), default=0)


def merchantops(job_id: str, processed: int, total: int, failed: int,
                message: str | None = None, state: JobState = JobState.RUNNING) -> Job:
    return Job(provider="merchantops", job_id=job_id, state=state, status="processing",
               progress=(processed + failed) / total, done=processed + failed, total=total,
               unit="items", failed_items=failed, message=message)


def watching(*pairs: tuple[Watch, Job]) -> list[Watch]:
    for watch, job in pairs:
        watch.job = job
    return [watch for watch, _ in pairs]


def show(renderer: LiveRenderer, watches: list[Watch]) -> list[str]:
    for watch in watches:
        renderer.update(watch)
    return frame_lines(renderer)


# -- at 80 columns -----------------------------------------------------------------------------


def two_merchantops_jobs() -> list[Watch]:
    return watching(
        (Watch("merchantops", "enr_7Hq2", started=0.0), merchantops("enr_7Hq2", 38, 120, 1)),
        (Watch("merchantops", "crw_9Zx4", started=0.0), merchantops("crw_9Zx4", 25, 80, 0)))


def two_jobs_shown(width: int = 80, *, no_color: bool | None = None
                   ) -> tuple[LiveRenderer, list[Watch], list[str]]:
    """The two MerchantOps jobs started, 3 s in, and the frame drawn for them."""
    renderer, clock, _ = live(width, no_color=no_color)
    watches = two_merchantops_jobs()
    renderer.start(watches)
    clock.now = 3.0
    return renderer, watches, show(renderer, watches)


def test_two_merchantops_jobs_at_80_columns_keep_their_ids_and_a_bar() -> None:
    _, _, lines = two_jobs_shown(80)
    assert len(lines) == 2, lines
    for line, job_id in zip(lines, ["enr_7Hq2", "crw_9Zx4"]):
        assert job_id in line, lines
        assert bar_width(line) >= MIN_BAR, lines
        assert len(line) <= 80 - MARGIN, lines
    assert "39/120" in lines[0] and "1 failed" in lines[0]  # the amount, whole


@pytest.mark.parametrize("no_color", [False, True])
def test_without_colour_the_bar_still_shows_how_far(no_color: bool) -> None:
    # Only colour told the done part of a bar from the rest; NO_COLOR drew one solid line.
    line = two_jobs_shown(80, no_color=no_color)[2][0]
    done, rest = re.search(r"(━+)╸?(─*)", line).groups()  # type: ignore[union-attr]
    assert len(done) >= 1
    assert (len(rest) > len(done)) is no_color, line  # 40/120 done: most of it still to go


def test_a_message_takes_room_from_the_amounts_never_from_the_bar() -> None:
    renderer, watches, without = two_jobs_shown(80)
    assert all(not line.endswith(" ") for line in without)
    assert "39/120 items (32%), 1 failed" in without[0], without
    watches[1].job = merchantops("crw_9Zx4", 30, 80, 2, message="Crawl aborted: HTTP 503",
                                 state=JobState.FAILED)
    with_message = show(renderer, watches)
    assert "Crawl aborted" in with_message[1], with_message
    # The bar keeps one width; the room comes from the amounts, said shorter.
    assert bar_width(with_message[0]) == bar_width(without[0]) >= MIN_BAR, with_message
    assert "39/120" in with_message[0] and "items" not in with_message[0], with_message
    assert "enr_7Hq2" in with_message[0] and "crw_9Zx4" in with_message[1]


def demo_jobs() -> list[Watch]:
    """The demo's five jobs (and the related grid-fill job it follows) at their busiest."""
    def job(provider: str, job_id: str, **fields: Any) -> tuple[Watch, Job]:
        return (Watch(provider, job_id, started=0.0),
                Job(provider=provider, job_id=job_id, state=JobState.RUNNING, status="running",
                    **fields))

    watches = watching(
        job("claret", "1001", progress=3 / 8, done=3, total=8, unit="steps",
            message="Validating rows"),
        job("merchantops", "enr_7Hq2", progress=40 / 120, done=39, total=120, unit="items",
            failed_items=1),
        job("julep", "5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40", progress=0.45, done=45, total=100,
            unit="percent"),
        job("retailgrid", "8a1d6c52-7e3f-4b90-a2c4-51f9e0d7b3a6", progress=0.5, done=50,
            total=100, unit="percent", message="bulk_upsert"),
        job("retailgrid", "e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84", progress=0.35, done=35,
            total=100, unit="percent", message='Row 412: column "price" must be a number'))
    related = Watch("retailgrid", "c3e9f1a7-5b2d-4e80-b6a4-9d0f2c7e1b38", started=0.0,
                    parent=watches[3])
    related.job = Job(provider="retailgrid", job_id=related.job_id, state=JobState.RUNNING,
                      status="running", progress=0.1, done=10, total=100, unit="percent")
    watches.insert(4, related)
    return watches


@pytest.mark.parametrize("width", [80, 100])
def test_the_demos_jobs_keep_their_ids_and_a_bar(width: int) -> None:
    renderer, clock, _ = live(width)
    watches = demo_jobs()
    renderer.start(watches)
    clock.now = 4.0
    lines = show(renderer, watches)
    assert len(lines) == 6, lines
    shown = ["claret 1001", "merchantops enr_7Hq2", "julep 5f0c3a9e…", "retailgrid 8a1d6c52…",
             "↳ retailgrid c3e9f1a7…", "retailgrid e4b29c7d…"]
    for line, label in zip(lines, shown):
        assert label in line, lines  # the two Retailgrid rows can be told apart
        assert bar_width(line) >= MIN_BAR, lines
        assert len(line) <= width - MARGIN, lines


# -- narrower: what gives way ------------------------------------------------------------------


def test_short_amounts_before_a_missing_bar_and_ids_before_provider_words() -> None:
    renderer, clock, _ = live(60)
    watches = two_merchantops_jobs()
    watches[1].job = merchantops("crw_9Zx4", 25, 80, 0, message="Crawling pages")
    renderer.start(watches)
    clock.now = 3.0
    lines = show(renderer, watches)
    assert lines[0].split()[1] == "enr_7Hq2" and lines[1].split()[1] == "crw_9Zx4", lines
    assert all(bar_width(line) >= MIN_BAR for line in lines), lines
    assert "39/120 (32%), 1 failed" in lines[0], lines  # said shorter, not cut
    assert "…" not in lines[0], lines


def test_a_label_is_cut_in_its_provider_word_never_in_its_id() -> None:
    renderer, clock, _ = live(40)  # too narrow for all: the bar goes, then the amounts
    watches = demo_jobs()
    renderer.start(watches)
    clock.now = 4.0
    lines = show(renderer, watches)
    assert "merchantops enr_7Hq2" in lines[1] and "retailgrid e4b29c7d…" in lines[5], lines
    assert all(len(line) <= 40 - MARGIN for line in lines), lines
    renderer, clock, _ = live(30)  # narrower still: the provider words give way
    renderer.start(watches)
    lines = show(renderer, watches)
    assert "enr_7Hq2" in lines[1] and "e4b29c7d…" in lines[5], lines
    assert all(len(line) <= 30 - MARGIN for line in lines), lines


def test_amounts_said_shorter_for_narrow_rows() -> None:
    job = merchantops("j", 38, 120, 1)
    assert [progress_text(job, level) for level in range(3)] == [
        "39/120 items (32%), 1 failed", "39/120 (32%), 1 failed", "39/120, 1 failed"]
    percent = Job(provider="julep", job_id="j", state=JobState.RUNNING, status="running",
                  progress=0.45, done=45, total=100, unit="percent")
    assert {progress_text(percent, level) for level in range(3)} == {"45%"}


# -- during a run ------------------------------------------------------------------------------


def test_columns_never_jump_back_during_a_run() -> None:
    # Widths that follow each frame's content make the bar grow and shrink as an ETA comes
    # and goes, as "100%" or ", 2 failed" appears, as a row says "download failed".
    renderer, clock, _ = live(80)
    watches = two_merchantops_jobs()
    renderer.start(watches)
    layouts: list[tuple[int, int]] = []
    for step in range(40):
        clock.now = step * 0.5
        failed = 1 + step // 10
        watches[0].job = merchantops("enr_7Hq2", min(118, 38 + 2 * step), 120, failed)
        if step == 20:  # the crawl ends, its files fail to download
            watches[1].outcome, watches[1].ended_at = "download_failed", clock.now
        if step == 30:  # a retry notice comes and goes
            renderer.problem(watches[0], "retrying in 2s: HTTP 503")
        lines = show(renderer, watches) if step != 30 else frame_lines(renderer)
        assert all(bar_width(line) >= MIN_BAR for line in lines), (step, lines)
        assert "enr_7Hq2" in lines[0] and "crw_9Zx4" in lines[1], (step, lines)
        layout = (lines[1].index(BAR), bar_width(lines[1]))
        if not layouts or layouts[-1] != layout:
            layouts.append(layout)
    # Changes only as a column grows (an id gives way to its provider word, "10s", "download
    # failed"), never back to an earlier layout.
    assert len(layouts) == len(set(layouts)) <= 8, layouts


def test_a_resize_lays_the_rows_out_again() -> None:
    renderer, clock, _ = live(60)
    watches = two_merchantops_jobs()
    renderer.start(watches)
    assert "merchantops" not in show(renderer, watches)[0]  # 60 columns: the id alone
    renderer.console.width = 160
    assert "merchantops enr_7Hq2" in frame_lines(renderer)[0]


# -- amounts: items that add up, bytes in binary units ------------------------------


def test_merchantops_amounts_count_failed_items_as_handled() -> None:
    assert progress_text(merchantops("j", 116, 120, 4)) == "120/120 items (100%), 4 failed"
    assert progress_text(merchantops("j", 30, 80, 2)) == "32/80 items (40%), 2 failed"
    assert progress_text(merchantops("j", 45, 120, 0)) == "45/120 items (38%)"


def test_live_downloads_count_in_binary_units_like_the_plain_log() -> None:
    renderer, _, _ = live(100)
    watch = Watch("claret", "904")
    renderer.start([watch])
    progress = renderer.download_progress(watch)
    progress.start("big_904.csv", 50 << 20)
    progress.advance(6 << 20)
    line = next(line for line in frame_lines(renderer) if "big_904.csv" in line)
    assert "6.0/50.0 MiB" in line, line
    rate = BinaryRate().render(SimpleNamespace(finished_speed=None, speed=1.5 * (1 << 20)))
    assert rate.plain == "1.5 MiB/s"
