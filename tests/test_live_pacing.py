"""When the live display redraws, on a fake clock: exact counts, no real time."""

from __future__ import annotations

import pytest

from jobwatch.engine import Watch
from jobwatch.live.pacing import Pacing
from jobwatch.models import Job, JobState
from tests.helpers import Clock, live


def ticks(pacing: Pacing, times: list[float], *, changes: bool, cost: float = 0.0) -> int:
    """Tick at each of ``times`` (a change before each when ``changes``), redrawing when due;
    a redraw takes ``cost`` seconds of the clock. Returns how many redraws there were."""
    redraws = 0
    for now in times:
        if changes:
            pacing.changed()
        if pacing.due(now):
            pacing.drawn(now, now + cost)
            redraws += 1
    return redraws


def test_changes_redraw_at_most_every_tenth_of_a_second() -> None:
    # Ticks every 30 ms for 3 s, each after a change: a redraw every fourth tick (120 ms).
    assert ticks(Pacing(), [i * 0.03 for i in range(100)], changes=True) == 25


def test_while_nothing_changes_the_spinner_moves_eight_times_a_second() -> None:
    pacing = Pacing()
    assert ticks(pacing, [0.0], changes=False) == 1  # the first frame
    redraws = 0
    for _ in range(80):  # the loop sleeps until the wished time, then ticks
        now = pacing.wish()
        redraws += ticks(pacing, [now], changes=False)
    assert redraws == 80 and pacing.wish() == 81 * Pacing.SPIN


def test_a_costly_redraw_slows_the_redraws_and_the_spinner() -> None:
    pacing = Pacing()
    pacing.drawn(0.0, 0.05)  # 50 ms for one redraw
    assert pacing.gap() == 0.25  # 5 x the cost
    pacing.changed()
    assert not pacing.due(0.29) and pacing.due(0.30)  # timed from the end of the redraw
    assert pacing.wish() == 0.30
    pacing.drawn(0.30, 0.35)
    assert pacing.wish() == pytest.approx(0.35 + 0.05 / Pacing.SPIN_SHARE)  # 3% of a core


def test_a_change_asks_for_a_tick_sooner_than_the_spinner() -> None:
    pacing = Pacing()
    pacing.drawn(0.0, 0.0)
    assert pacing.wish() == Pacing.SPIN
    pacing.changed()
    assert pacing.wish() == Pacing.MIN_REDRAW


def running(watch: Watch, progress: float) -> Job:
    return Job(provider=watch.provider, job_id=watch.job_id, state=JobState.RUNNING,
               status="running", progress=progress)


def test_the_renderer_paces_on_the_clock_it_was_given() -> None:
    # A fake clock that a redraw moves by 50 ms: the renderer measures the cost on it.
    renderer, clock, _ = live()
    watches = [Watch("claret", str(i)) for i in range(300)]
    renderer.start(watches)
    assert renderer.live is not None
    refresh = renderer.live.refresh
    redraws: list[float] = []

    def costly() -> None:
        redraws.append(clock.now)
        refresh()
        clock.now += 0.05

    renderer.live.refresh = costly  # type: ignore[method-assign]
    for step in range(100):  # 3 s of answers, a tick every 30 ms of the clock
        clock.now = round(step * 0.03 + (len(redraws) * 0.05), 6)
        for watch in watches[step % 30::30]:
            watch.job = running(watch, step / 100)
            renderer.update(watch)
        renderer.tick(clock.now)
    gaps = [b - a for a, b in zip(redraws, redraws[1:])]
    assert redraws[0] == 0.0
    assert all(gap >= 0.25 + 0.05 - 1e-9 for gap in gaps), gaps  # 5 x cost after each end


def test_downloads_redraw_as_bytes_come_but_not_more_often() -> None:
    renderer, clock, _ = live()
    watch = Watch("claret", "1")
    renderer.start([watch])
    assert renderer.live is not None
    count = 0
    refresh = renderer.live.refresh

    def counted() -> None:
        nonlocal count
        count += 1
        refresh()

    renderer.live.refresh = counted  # type: ignore[method-assign]
    progress = renderer.download_progress(watch)
    progress.start("big.csv", 1 << 30)  # a file row comes: drawn at once
    for step in range(1, 334):  # a chunk every 3 ms for a second
        clock.now = step * 0.003
        progress.advance(1 << 20)
    # Then at the first chunk 100 ms after the last redraw: at 0.102, 0.204, ... 0.918 s.
    assert count == 1 + 9


def test_a_fake_clock_needs_no_real_time() -> None:
    clock = Clock(5.0)
    renderer, _, _ = live()
    renderer.clock = clock
    renderer.start([Watch("claret", "1")])
    assert renderer.tick(5.0) == 5.0 + Pacing.SPIN  # wishes are on the clock it was given
