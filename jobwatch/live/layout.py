"""Where a frame's text goes: which jobs get a row, how wide each column is, and what gives
way on a narrow terminal. Pure: widths in terminal cells, no rich.Live, no terminal.

A row is: mark, label, state word, bar, amount, elapsed and ETA, current step.

    ⠏ merchantops enr_7Hq2 running   ━━━━━╸━━━━━━ 51/120, 2 failed 3s eta 4s  Enriching…

Rows stay MARGIN columns short of the terminal: the tty echoes "^C" after the last row, and a
wrapped echo would throw the final erase off by a line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rich.cells import cell_len

from jobwatch.live.rows import Row
from jobwatch.words import AMOUNT_LEVELS, tally

if TYPE_CHECKING:
    from jobwatch.engine import Watch

MARGIN = 3
MAX_BAR, MIN_BAR = 24, 6
BAR_FLOOR = 12  # the bar keeps this much before a current step may have room
MIN_MESSAGE = 16  # a current step cut shorter than this says little: it is left out
MAX_LABEL = 32
MIN_WORD, MAX_WORD = 9, 16
# Room kept for what comes during a run when the bar's width is chosen: amounts not answered
# yet ("51/120, 2 failed"), an elapsed time and ETA ("3s eta 7s"). What grows past them makes
# the ETA give way, not the bar.
AMOUNT_ROOM, TIMING_ROOM = 16, 9
RECENT = 5.0  # a job that ended this recently keeps its row when rows run short


@dataclass(frozen=True)
class Plan:
    """What a frame says in full. ``short_labels``: the labels leave out the provider word,
    which every row shares; ``level``: how short the amounts are said (progress_text);
    ``message``: the current step has a column; ``eta``: the ETA follows the elapsed time."""

    short_labels: bool
    level: int
    message: bool
    eta: bool

    def as_compact(self, other: Plan) -> bool:
        """At least as compact as ``other`` in every column."""
        return (self.short_labels >= other.short_labels and self.level >= other.level
                and self.message <= other.message and self.eta <= other.eta)


@dataclass(frozen=True)
class Columns:
    """One frame's column widths (0: the column is left out), and the plan they follow."""

    plan: Plan
    label: int
    word: int
    bar: int
    amount: int
    timing: int
    message: int


def plans(shared: bool) -> list[Plan]:
    """From the roomiest to the most compact. What gives way first: the provider word when
    every row shares it (the user typed it), then the unit word and the percentage (the bar
    shows it); the current step goes only once the amounts are as short as they get, and the
    ETA last of all."""
    steps = [(False, 0)] + ([(True, 0)] if shared else [])
    steps += [(shared, level) for level in range(1, AMOUNT_LEVELS)]
    return ([Plan(short, level, message, True) for message in (True, False)
             for short, level in steps] + [Plan(shared, AMOUNT_LEVELS - 1, False, False)])


def label(row: Row, short: bool, width: int | None = None) -> str:
    """'merchantops enr_7Hq2', or without the provider word; cut to ``width`` from the
    provider word ('merch… enr_7Hq2', then 'enr_7Hq2'): the id is what tells rows apart."""
    prefix = "↳ " if row.related else ""
    if short:
        return prefix + row.job_id
    full = f"{prefix}{row.provider} {row.job_id}"
    over = cell_len(full) - width if width is not None else 0
    if over <= 0:
        return full
    keep = len(row.provider) - over - 1  # the provider's first letters, then "…"
    return f"{prefix}{row.provider[:keep]}… {row.job_id}" if keep >= 2 else prefix + row.job_id


class ColumnLayout:
    """The columns of every frame of a run.

    The bar's width is chosen once per terminal width, from the labels and room for what
    grows, and then kept: the other columns give way around it, in the order of plans(). The
    widths follow the widest content seen in the run, and what has given way does not come
    back at that terminal width: rows change as their content grows, never back and forth from
    frame to frame. When even the most compact plan does not fit, the amounts go, then the
    labels are cut (the provider word first: the id tells rows apart)."""

    def __init__(self) -> None:
        self._widest: dict[str, int] = {}
        self._bars: dict[int, int] = {}  # terminal width -> bar width
        self._plan: tuple[int, Plan] | None = None  # the most compact plan used at a width

    def fit(self, rows: Sequence[Row], width: int, shared: bool) -> Columns:
        """The columns for ``rows`` in ``width`` cells; ``shared``: one provider for all."""
        self._grow(rows)
        if width not in self._bars:
            self._bars[width] = self._choose_bar(width, shared)
        bar = self._bars[width]
        candidates = plans(shared)
        if self._plan is not None and self._plan[0] == width:
            # A new provider among the rows brings the provider words back: start again.
            candidates = [p for p in candidates if p.as_compact(self._plan[1])] or candidates
        for plan in candidates:
            columns = self._columns(plan, bar)
            if self._used(columns) + (1 + columns.message if columns.message else 0) <= width:
                break
        else:
            columns = self._squeeze(columns, width)
        self._plan = (width, columns.plan)
        if columns.message:  # the step takes the rest of the row
            columns = replace(columns, message=width - self._used(columns) - 1)
        return columns

    def _grow(self, rows: Sequence[Row]) -> None:
        """Widen the columns to these rows' content; they never narrow during a run."""
        seen = {
            "label": min(MAX_LABEL, max(cell_len(label(r, False)) for r in rows)),
            "short_label": min(MAX_LABEL, max(cell_len(label(r, True)) for r in rows)),
            "word": min(MAX_WORD, max(MIN_WORD, *(cell_len(r.word) for r in rows))),
            "timing": max(cell_len(r.timing()) for r in rows),
            "timing_short": max(cell_len(r.timing(False)) for r in rows),
            "message": int(any(r.message for r in rows)),  # once a row had one
        }
        for level in range(AMOUNT_LEVELS):
            seen[f"amount{level}"] = max(cell_len(r.amounts[level]) for r in rows)
        for key, value in seen.items():
            self._widest[key] = max(self._widest.get(key, 0), value)

    def _choose_bar(self, width: int, shared: bool) -> int:
        """As wide as it can be while the most compact labels, room for the amounts and the
        times, and (above BAR_FLOOR) a current step fit beside it; 0 when that is under
        MIN_BAR."""
        widest = self._widest
        others = (2 + widest["short_label" if shared else "label"] + 1 + widest["word"] + 1
                  + 1 + max(widest[f"amount{AMOUNT_LEVELS - 1}"], AMOUNT_ROOM) + 1
                  + max(widest["timing"], TIMING_ROOM))
        room = width - others
        bar = min(MAX_BAR, max(room - (1 + MIN_MESSAGE), min(room, BAR_FLOOR)))
        return bar if bar >= MIN_BAR else 0

    def _columns(self, plan: Plan, bar: int) -> Columns:
        widest = self._widest
        return Columns(plan=plan, label=widest["short_label" if plan.short_labels else "label"],
                       word=widest["word"], bar=bar, amount=widest[f"amount{plan.level}"],
                       timing=widest["timing" if plan.eta else "timing_short"],
                       message=MIN_MESSAGE if plan.message and widest["message"] else 0)

    @staticmethod
    def _used(c: Columns) -> int:
        return (2 + c.label + 1 + c.word + 1 + (c.bar + 1 if c.bar else 0)
                + (c.amount + 1 if c.amount else 0) + c.timing)

    def _squeeze(self, columns: Columns, width: int) -> Columns:
        """The last resort: no amounts; then labels cut."""
        columns = replace(columns, message=0)
        if self._used(columns) > width and columns.amount:
            columns = replace(columns, amount=0)
        over = self._used(columns) - width
        if over > 0:
            columns = replace(columns, label=max(1, columns.label - over))
        return columns


def file_rows(files: int, height: int) -> int:
    """Rows for the files downloading: one each, or one line that counts them when they
    would take more than a third of the terminal."""
    return files if files <= max(1, height // 3) else 1


def pick_rows(watches: Sequence[Watch], budget: int, now: float,
              changed_at: Callable[[Watch], float]) -> tuple[list[Watch], str]:
    """The jobs that get a row, in display order, and the "… N more" line. When they do not
    all fit in ``budget`` lines: the jobs that ended in the last RECENT seconds and the running
    ones first, then the others; the last line sums up the rest."""
    watches = list(watches)
    if len(watches) <= budget:
        return watches, ""

    def rank(index: int) -> tuple[int, int]:
        watch = watches[index]
        if not watch.done:
            return (1, index)
        return (0 if now - changed_at(watch) <= RECENT else 2, index)

    order = sorted(range(len(watches)), key=rank)
    shown = sorted(order[:budget - 1])
    hidden = [watches[i] for i in order[budget - 1:]]
    return [watches[i] for i in shown], f"… {len(hidden)} more: {tally(hidden)}"
