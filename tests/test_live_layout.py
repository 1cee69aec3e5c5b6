"""The live display's layout, alone: rows as data, column widths at the widths people use, what
gives way, which rows fit. No terminal and no rich.Live: rows are painted to plain text."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest
from rich.cells import cell_len
from rich.text import Text

from jobwatch.engine import Watch
from jobwatch.live.layout import (
    MARGIN,
    MAX_BAR,
    MIN_BAR,
    MIN_MESSAGE,
    ColumnLayout,
    Columns,
    file_rows,
    label,
    pick_rows,
)
from jobwatch.live.paint import row_text
from jobwatch.live.rows import Row, RowBook, short_id
from jobwatch.models import Job, JobState

UUID = "5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40"
LONG_MESSAGE = ('Row 412: column "price" must be a number, got "12,50"; ' * 3).strip()
KINDS = {
    "short ids": [("claret", "1001"), ("merchantops", "enr_7Hq2"), ("julep", "j-3")],
    "long ids": [("merchantops", "enr_7Hq2x9Lm3Qp0"), ("merchantops", "crw_4Zx9Yb2Wq1Lk")],
    "UUIDs": [("retailgrid", UUID), ("julep", UUID.replace("5", "6"))],
    "long messages": [("claret", "2130"), ("claret", "3120")],
}


def a_row(provider: str = "claret", job_id: str = "1001", *, done: int | None = 3,
          total: int = 8, unit: str = "steps", message: str = "", eta: str = "",
          elapsed: str = "3s", related: bool = False, outcome: str | None = None) -> Row:
    """A row as RowBook makes it, from a job at ``done``/``total``."""
    watch = Watch(provider, job_id, started=0.0, outcome=outcome,
                  ended_at=None if outcome is None else 3.0)
    if done is not None:
        watch.job = Job(provider=provider, job_id=job_id, state=JobState.RUNNING,
                        status="running", progress=done / total, done=done, total=total,
                        unit=unit, failed_items=1 if unit == "items" else None,
                        message=message or None)
    row = RowBook().row(watch, 3.0)
    return dataclasses.replace(row, related=related, eta=eta, elapsed=elapsed)


def painted(rows: list[Row], columns: Columns, width: int) -> list[str]:
    return [row_text(row, columns, width, Text("⠋"), 0.0).plain for row in rows]


def rows_of(kind: str, count: int) -> list[Row]:
    jobs = KINDS[kind]
    message = LONG_MESSAGE if kind == "long messages" else "Validating rows"
    rows = []
    for i, (provider, job_id) in zip(range(count), itertools.cycle(jobs)):
        if count > len(jobs):  # many jobs: ids of the same form, told apart
            job_id = job_id[:-4] + f"{i:04x}" if len(job_id) == 36 else f"{job_id}{i}"
        rows.append(a_row(provider, job_id, done=(i * 7) % 120, total=120,
                          unit="items" if provider == "merchantops" else "steps",
                          message=message if i % 2 == 0 else "",
                          eta="eta 12s" if i % 3 else ""))
    return rows


def bar_width(line: str) -> int:
    return max((len(run) for run in re.findall(r"[━╸─]+", line)), default=0)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("count", [1, 5, 300])
@pytest.mark.parametrize("width", [40, 80, 120, 200])
def test_rows_fit_the_width_and_keep_their_ids(width: int, count: int, kind: str) -> None:
    rows = rows_of(kind, count)
    room = width - MARGIN
    columns = ColumnLayout().fit(rows, room, shared=len({r.provider for r in rows}) == 1)
    lines = painted(rows, columns, room)
    assert all(cell_len(line) <= room for line in lines), lines[:3]
    if width >= 80 or kind != "long ids":
        for row, line in zip(rows, lines):
            assert row.job_id in line, (row.job_id, line)  # a UUID as "5f0c3a9e…"
    assert len({bar_width(line) for line in lines}) == 1  # one bar width for every row
    if width >= 80:
        assert columns.bar >= MIN_BAR, (columns, lines[:3])
    if columns.message:
        assert columns.message >= MIN_MESSAGE
    if width >= 120:
        assert any("Validating rows" in line or "Row 412" in line for line in lines), lines[:3]


def test_uuids_are_shown_short_and_tell_rows_apart() -> None:
    assert short_id(UUID) == "5f0c3a9e…"
    assert short_id("5f0c3a9e") == "5f0c3a9e"
    rows = rows_of("UUIDs", 2)
    assert [label(r, False) for r in rows] == ["retailgrid 5f0c3a9e…", "julep 6f0c3a9e…"]


def test_a_label_gives_up_its_provider_word_before_its_id() -> None:
    row = a_row("merchantops", "enr_7Hq2")
    assert label(row, False) == "merchantops enr_7Hq2"
    assert label(row, False, 16) == "mercha… enr_7Hq2"
    assert label(row, False, 10) == "enr_7Hq2"
    assert label(dataclasses.replace(row, related=True), True) == "↳ enr_7Hq2"


def frames(width: int) -> list[tuple[Columns, list[str]]]:
    """A run of the demo's kind, frame by frame, at one width: every job waits, answers,
    grows an ETA and a step, a related job joins, one ends with a long word."""
    layout = ColumnLayout()
    jobs = [("claret", "1001", "steps", 8), ("merchantops", "enr_7Hq2", "items", 120),
            ("julep", UUID, "percent", 100), ("retailgrid", UUID.replace("5", "8"), "percent",
                                                 100)]
    seen = []
    for step in range(12):
        rows = []
        for provider, job_id, unit, total in jobs:
            done = None if step == 0 else min(total, step * total // 10)
            rows.append(a_row(provider, job_id, done=done, total=total, unit=unit,
                              elapsed=f"{step * 7}s", eta="eta 1m05s" if 2 <= step < 10 else "",
                              message="Validating rows" if step >= 4 else ""))
        if step >= 6:
            rows.insert(4, a_row("retailgrid", "c3e9f1a7-x", done=step, total=100,
                                 unit="percent", related=True))
        if step >= 9:
            rows[1] = a_row("merchantops", "enr_7Hq2", done=120, total=120, unit="items",
                            outcome="download_failed")
        columns = layout.fit(rows, width - MARGIN, shared=False)
        seen.append((columns, painted(rows, columns, width - MARGIN)))
    return seen


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_the_bar_keeps_one_width_through_a_run(width: int) -> None:
    # Not 24, then 13, then 10 cells as the step column and the ↳ row come.
    run = frames(width)
    bars = {columns.bar for columns, _ in run}
    assert len(bars) == 1, bars
    assert {bar_width(line) for _, lines in run for line in lines} == bars
    assert min(bars) >= (MIN_BAR if width >= 80 else 0)
    if width >= 120:
        assert bars == {MAX_BAR}
    for _, lines in run:
        assert all(cell_len(line) <= width - MARGIN for line in lines), lines


@pytest.mark.parametrize("width", [60, 80, 120])
def test_what_has_given_way_does_not_come_back(width: int) -> None:
    plans = [columns.plan for columns, _ in frames(width)]
    for before, after in zip(plans, plans[1:]):
        assert after.as_compact(before), (before, after)


def test_what_gives_way_first_on_80_columns() -> None:
    layout = ColumnLayout()
    rows = [a_row("merchantops", "enr_7Hq2", done=39, total=120, unit="items"),
            a_row("merchantops", "crw_9Zx4", done=25, total=80, unit="items")]
    columns = layout.fit(rows, 80 - MARGIN, shared=True)
    lines = painted(rows, columns, 80 - MARGIN)
    assert "merchantops enr_7Hq2" in lines[0] and "39/120 items (32%), 1 failed" in lines[0]
    rows[1] = dataclasses.replace(rows[1], message="Crawl aborted: HTTP 503")
    columns = layout.fit(rows, 80 - MARGIN, shared=True)
    lines = painted(rows, columns, 80 - MARGIN)
    # Room for the step: first the provider word every row shares, then the unit word.
    assert columns.plan.short_labels and columns.message >= MIN_MESSAGE, columns
    assert lines[0].split()[1] == "enr_7Hq2" and "Crawl aborted" in lines[1], lines
    assert columns.plan.eta  # the ETA goes last of all


def test_the_eta_goes_before_the_bar() -> None:
    layout = ColumnLayout()
    rows = [a_row("merchantops", "enr_7Hq2", done=39, total=120, unit="items", eta="eta 4s")]
    bar = layout.fit(rows, 57, shared=False).bar
    rows = [dataclasses.replace(rows[0], elapsed="1h05m", eta="eta 2h10m")]
    columns = layout.fit(rows, 57, shared=False)
    assert columns.bar == bar and not columns.plan.eta
    assert "eta" not in painted(rows, columns, 57)[0]


def test_a_resize_chooses_again_and_coming_back_finds_the_same_bar() -> None:
    layout = ColumnLayout()
    rows = rows_of("short ids", 3)
    at_120 = layout.fit(rows, 117, shared=False)
    at_60 = layout.fit(rows, 57, shared=False)
    assert at_60.bar < at_120.bar
    assert layout.fit(rows, 117, shared=False) == at_120


def test_a_new_provider_brings_the_provider_words_back() -> None:
    layout = ColumnLayout()
    rows = [a_row("claret", "1001", message="Validating rows"), a_row("claret", "1002")]
    assert layout.fit(rows, 57, shared=True).plan.short_labels
    rows.append(a_row("julep", "j-1"))
    columns = layout.fit(rows, 57, shared=False)
    assert not columns.plan.short_labels
    assert "claret 1001" in painted(rows, columns, 57)[0]


def test_narrower_than_everything_the_labels_are_cut_last() -> None:
    rows = rows_of("short ids", 3)
    columns = ColumnLayout().fit(rows, 27, shared=False)
    lines = painted(rows, columns, 27)
    assert columns.bar == 0 and columns.amount == 0, columns
    assert all(cell_len(line) <= 27 for line in lines)
    assert all(job_id in line for job_id, line in zip(["1001", "enr_7Hq2", "j-3"], lines))
    assert "me… enr_7Hq2" in lines[1], lines  # the provider word gave way first


# -- which rows fit --------------------------------------------------------------------------


def test_300_jobs_show_the_rows_that_fit_and_sum_up_the_rest() -> None:
    watches = [Watch("claret", str(i)) for i in range(300)]
    for watch in watches[200:]:
        watch.outcome = "succeeded"
    changed = {id(w): 0.0 for w in watches}
    changed[id(watches[250])] = 58.0  # ended two seconds ago: it keeps a row
    shown, more = pick_rows(watches, 20, 60.0, lambda w: changed[id(w)])
    assert len(shown) == 19
    assert watches[250] in shown and all(not w.done for w in shown if w is not watches[250])
    assert [int(w.job_id) for w in shown] == sorted(int(w.job_id) for w in shown)  # in order
    assert more == "… 281 more: 182 waiting, 99 succeeded"


def test_all_rows_fit_no_more_line() -> None:
    watches = [Watch("claret", str(i)) for i in range(5)]
    assert pick_rows(watches, 20, 0.0, lambda w: 0.0) == (watches, "")


def test_files_downloading_take_a_row_each_until_a_third_of_the_screen() -> None:
    assert file_rows(0, 24) == 0
    assert file_rows(8, 24) == 8
    assert file_rows(9, 24) == 1  # one line counts them
