"""jobwatch.engine.schedule and .ledger: when watches are due, and the counts kept as they
change (what keeps each answer O(1))."""

from __future__ import annotations

from jobwatch.engine import Watch
from jobwatch.engine.ledger import Ledger
from jobwatch.engine.schedule import Schedule
from jobwatch.models import Job, JobState


def test_due_watches_come_earliest_first_and_ties_in_the_order_scheduled() -> None:
    a, b, c = Watch("claret", "a"), Watch("claret", "b"), Watch("claret", "c")
    schedule = Schedule()
    assert schedule.next_due() is None and schedule.pop_due(100) == []
    schedule.add(c, 5.0)
    schedule.add(a, 2.0)
    schedule.add(b, 2.0)
    assert schedule.next_due() == 2.0 and len(schedule) == 3
    assert schedule.pop_due(1.9) == []
    assert schedule.pop_due(2.0) == [a, b]
    assert schedule.pop_due(10.0) == [c] and len(schedule) == 0


def test_the_ledger_keeps_followed_jobs_after_their_parent() -> None:
    ledger = Ledger()
    p, q = Watch("retailgrid", "p"), Watch("retailgrid", "q")
    ledger.add(p)
    ledger.add(q)
    r1, r2 = Watch("retailgrid", "r1", parent=p), Watch("retailgrid", "r2", parent=p)
    ledger.add(r1)
    ledger.add(r2)
    assert [w.job_id for w in ledger.watches] == ["p", "r1", "r2", "q"]
    assert ledger.knows(Watch("retailgrid", "r1")) and not ledger.knows(Watch("claret", "r1"))


def test_the_ledger_counts_open_and_polled_watches_as_they_change() -> None:
    ledger = Ledger()
    running, ending, refused = (Watch("claret", n) for n in ("1", "2", "3"))
    for w in (running, ending, refused):
        ledger.add(w)
    assert (ledger.open, ledger.polled) == (3, 3)
    ending.job = Job(provider="claret", job_id="2", state=JobState.SUCCEEDED,
                     status="completed")
    ledger.job_ended(ending)
    assert (ledger.open, ledger.polled) == (3, 2)  # its files are still coming
    ledger.settle(refused, "not_found")
    assert (ledger.open, ledger.polled) == (2, 1)
    ledger.settle(ending, "succeeded")
    assert (ledger.open, ledger.polled) == (1, 1)
    assert ledger.still_open() == [running]
