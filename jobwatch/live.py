"""The live display `wait` draws on a terminal: a row per job, a bar, a spinner, the files
downloading, and a summary table at the end. Imports rich, so only a terminal run loads it.

Text from providers and users (ids, messages, file names, paths) reaches rich only as Text
objects, never as a str rich would read as markup ("[/x]") or emoji codes (":fire:")."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from rich.cells import cell_len
from rich.progress import ProgressColumn, Task
from rich.text import Text

from jobwatch.text import printable
from jobwatch.ui import (
    AMOUNT_LEVELS,
    error_lines,
    eta_seconds,
    finish_notes,
    human_size,
    no_resume,
    outcome_text,
    outcome_word,
    progress_text,
    saved_summary,
    tally,
)

RICH_STATE_STYLES = {"succeeded": "bold green", "failed": "bold red", "canceled": "yellow",
                     "running": "cyan", "pending": "blue", "unknown": "magenta"}
OUTCOME_STYLES = {"succeeded": "green", "failed": "red", "timeout": "yellow",
                  "interrupted": "yellow"}  # the user's own stop is no error; the rest is red


def short_id(job_id: str) -> str:
    """UUIDs shortened like git's short hashes; the summary table shows them whole."""
    return job_id[:8] + "…" if len(job_id) == 36 and job_id.count("-") == 4 else job_id


@dataclass(frozen=True)
class Columns:
    """The widths of one frame's columns. ``short_labels``: the labels leave out the provider
    word, which every row shares; ``level``: how short the amounts are said (progress_text)."""

    label: int
    short_labels: bool
    word: int
    bar: int
    level: int
    amount: int
    elapsed: int
    message: int


class LiveRenderer:
    """On a terminal: one row per job (mark or spinner, label, state, bar, amount, elapsed and
    ETA, current step) and a summary table at the end.

    Cheap at any number of jobs: events only mark the display dirty; the engine's tick
    redraws, at most every MIN_REDRAW after the previous redraw *ended*, and only the rows that
    fit the terminal (ended-just-now and running first, then a "… N more" line). While
    nothing changes the spinner moves ~8 times a second, slower when a redraw is costly.
    Rows stay MARGIN columns short of the terminal's width: the tty echoes "^C" after the last
    row, and a wrapped echo would throw the final erase off by a line.

    On a narrow terminal the columns give way in a fixed order (_fit_columns), the job id last
    of all. Widths follow the widest content seen in the run, and what has given way does not
    come back: rows change as their content grows, never back and forth from frame to frame.
    """

    MIN_REDRAW = 0.1
    SPIN = 0.125
    SPIN_SHARE = 0.03  # of a core, at most, for the spinner while idle
    MARGIN = 3
    MIN_MESSAGE = 16  # a current step cut shorter than this says little: it is left out
    MAX_BAR = 24
    MIN_BAR = 6
    MAX_LABEL = 32
    MIN_WORD, MAX_WORD = 9, 16
    RECENT = 5.0  # a job that ended this recently keeps its row when rows run short
    RELAYOUT = 1.0
    MIN_OUTCOME = 16  # columns the closing table keeps for the outcome text

    def __init__(self, stream: TextIO, clock: Any, *,
                 resume: Callable[[list[Any]], list[str]] = no_resume,
                 resumable: bool = True, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console(file=stream, highlight=False)
        self.clock = clock
        self.resume = resume
        self.resumable = resumable
        self.live: Any = None
        self.files: Any = None
        self.watches: list[Any] = []
        self.first_seen: dict[int, tuple[float, float]] = {}
        self.last_seen: dict[int, tuple[float, float]] = {}
        self.changed_at: dict[int, float] = {}
        self.notes: dict[int, str] = {}
        self.dirty = True
        self.last_redraw = float("-inf")
        self.next_spin = float("-inf")
        self.cost = 0.0
        self._layout: tuple[list[Any], str] | None = None
        self._layout_at = float("-inf")
        self.providers: set[str] = set()
        # Only-growing column widths for the run (and whether a row has had a message), and
        # the most compact plan used so far at this terminal width (a resize starts again).
        self._widest: dict[str, int] = {}
        self._plan: tuple[int, bool, int, bool] | None = None  # (terminal width, *plan)
        self.closed = False
        self._lock = threading.RLock()

    # -- events: cheap, they only mark the display dirty ----------------------------------

    def start(self, watches: list[Any]) -> None:
        from rich.live import Live
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
        from rich.spinner import Spinner
        from rich.table import Column

        with self._lock:
            self.watches = watches  # the engine's list: related jobs sit under their parent
            self.providers = {watch.provider for watch in watches}
            self.spinner = Spinner("dots")
            # Binary units, as the plain log and the closing lines say sizes (MiB, MiB/s).
            self.files = Progress(
                _FileName(table_column=Column(no_wrap=True, overflow="ellipsis")),
                BarColumn(bar_width=20), DownloadColumn(binary_units=True), _BinaryRate(),
                TimeRemainingColumn(), console=self.console, auto_refresh=False,
            )
            # Transient: at the end the rows give way to the summary table instead of repeating.
            self.live = Live(get_renderable=self._frame, console=self.console,
                             auto_refresh=False, transient=True, redirect_stdout=False,
                             redirect_stderr=False)
            self.live.start()

    def add(self, watch: Any) -> None:
        with self._lock:
            if not any(w is watch for w in self.watches):
                self.watches.append(watch)
            self.providers.add(watch.provider)
            self._changed(watch)

    def update(self, watch: Any) -> None:
        with self._lock:
            job = watch.job
            now = self.clock()
            if job is not None and job.progress is not None:
                point = (now, job.progress)
                self.first_seen.setdefault(id(watch), point)
                last = self.last_seen.get(id(watch))
                if last is None or last[1] != job.progress:  # when it last *moved*
                    self.last_seen[id(watch)] = point
            self.notes.pop(id(watch), None)
            self._changed(watch)

    def problem(self, watch: Any, text: str) -> None:
        with self._lock:
            self.notes[id(watch)] = text
            self._changed(watch)

    def _changed(self, watch: Any) -> None:
        self.changed_at[id(watch)] = self.clock()
        self.dirty = True
        self._layout = None

    def tick(self, now: float) -> float | None:
        with self._lock:
            if self.live is None:
                return None
            if ((self.dirty and now >= self.last_redraw + self._gap())
                    or now >= self.next_spin):
                self._redraw()
            wish = self.next_spin
            if self.dirty:
                wish = min(wish, self.last_redraw + self._gap())
            return wish

    def _gap(self) -> float:
        # ~10 redraws a second at most; fewer when one redraw costs more than 20 ms.
        return max(self.MIN_REDRAW, 5 * self.cost)

    def _redraw(self) -> None:
        with self._lock:
            if self.live is None:
                return
            began = time.perf_counter()
            self.live.refresh()
            self.cost = time.perf_counter() - began
            self.dirty = False
            # Stamped after the refresh: a slow redraw never makes the next one come sooner.
            self.last_redraw = self.clock()
            self.next_spin = self.last_redraw + max(self.SPIN, self.cost / self.SPIN_SHARE)

    def _files_changed(self, rows: bool = False) -> None:
        """From download callbacks, which redraw themselves: `jobwatch download` has no loop
        to tick the display. ``rows``: a file row came or went, and takes or gives back a
        job row's place."""
        self.dirty = True
        if rows:
            self._layout = None
        if self.live is not None and self.clock() >= self.last_redraw + self._gap():
            self._redraw()

    # -- one frame: O(rows shown) ---------------------------------------------------------

    def _frame(self) -> Any:
        from rich.console import Group
        from rich.constrain import Constrain

        with self._lock:
            if self.files is None:
                return ""
            width = max(20, self.console.width - self.MARGIN)
            rows, more = self._rows()
            now = self.clock()
            lines: list[Any] = self._job_lines([self._cells(w, now) for w in rows], width)
            if more:
                lines.append(Text(more, style="dim", no_wrap=True, overflow="ellipsis"))
            if self._file_rows() == len(self.files.tasks):
                lines.append(self.files)
            elif self.files.tasks:  # more downloads at once than the screen has room for
                lines.append(Text(f"  ↓ {len(self.files.tasks)} files downloading",
                                  style="dim", no_wrap=True, overflow="ellipsis"))
            return Constrain(Group(*lines), width)

    def _file_rows(self) -> int:
        count = len(self.files.tasks) if self.files is not None else 0
        return count if count <= max(1, self.console.height // 3) else 1

    def _rows(self) -> tuple[list[Any], str]:
        """The jobs that get a row, in display order, and the "… N more" line. Recomputed
        when something changed, and each second (a recent end stops being recent)."""
        now = self.clock()
        if self._layout is not None and now < self._layout_at + self.RELAYOUT:
            return self._layout
        watches = list(self.watches)
        budget = max(2, self.console.height - 2 - self._file_rows())
        if len(watches) <= budget:
            self._layout = (watches, "")
        else:
            def rank(index: int) -> tuple[int, int]:
                watch = watches[index]
                if not watch.done:
                    return (1, index)
                recent = now - self.changed_at.get(id(watch), 0.0) <= self.RECENT
                return (0 if recent else 2, index)

            order = sorted(range(len(watches)), key=rank)
            shown = sorted(order[:budget - 1])
            hidden = [watches[i] for i in order[budget - 1:]]
            self._layout = ([watches[i] for i in shown], f"… {len(hidden)} more: {tally(hidden)}")
        self._layout_at = now
        return self._layout

    def _cells(self, watch: Any, now: float) -> dict[str, Any]:
        from jobwatch.durations import format_duration

        job = watch.job
        end = watch.ended_at if watch.ended_at is not None else now
        elapsed = format_duration(end - watch.started)
        if not watch.done and job is not None:
            eta = eta_seconds(self.first_seen.get(id(watch)), self.last_seen.get(id(watch)),
                              now)
            if eta is not None:
                elapsed += f" eta {format_duration(eta)}"
        if watch.done:
            word = outcome_word(watch.outcome)
            style = OUTCOME_STYLES.get(watch.outcome, "red")
        elif job is not None:
            # The provider's own word only where it maps to nothing (SPEC: shown as written).
            state = job.state.value
            word = printable(job.status) if state == "unknown" else state
            style = RICH_STATE_STYLES.get(state, "magenta")
        else:
            word, style = "waiting", "dim"
        progress = job.progress if job is not None else None
        if watch.outcome == "succeeded" and progress is None:
            progress = 1.0
        note = self.notes.get(id(watch))
        message = (note or (watch.error.message if watch.error else None) or watch.last_problem
                   or (job.message if job else "") or "")
        amounts = tuple(progress_text(job, level) if job is not None else ""
                        for level in range(AMOUNT_LEVELS))
        return {"prefix": "↳ " if watch.parent is not None else "",
                "provider": watch.provider, "id": printable(short_id(watch.job_id)),
                "word": word, "style": style, "progress": progress,
                "running": not watch.done, "outcome": watch.outcome, "amounts": amounts,
                "elapsed": elapsed, "message": " ".join(printable(message).split()),
                "noted": bool(note or watch.last_problem)}

    def _job_lines(self, cells: list[dict[str, Any]], width: int) -> list[Any]:
        if not cells:
            return []
        self._grow(cells)
        columns = self._fit_columns(width, any(c["message"] for c in cells))
        now = self.clock()
        return [self._job_line(c, columns, width, now) for c in cells]

    def _grow(self, cells: list[dict[str, Any]]) -> None:
        """Widen the columns to this frame's content; they never narrow during a run."""
        seen = {
            "label": min(self.MAX_LABEL, max(cell_len(_label(c, False)) for c in cells)),
            "short_label": min(self.MAX_LABEL, max(cell_len(_label(c, True)) for c in cells)),
            "word": min(self.MAX_WORD, max(self.MIN_WORD, *(cell_len(c["word"]) for c in cells))),
            "elapsed": max(cell_len(c["elapsed"]) for c in cells),
            "message": int(any(c["message"] for c in cells)),  # once a row had one
        }
        for level in range(AMOUNT_LEVELS):
            seen[f"amount{level}"] = max(cell_len(c["amounts"][level]) for c in cells)
        for key, value in seen.items():
            self._widest[key] = max(self._widest.get(key, 0), value)

    def _plans(self) -> list[tuple[bool, int, bool]]:
        """(short labels, amount level, room for the step), from the roomiest to the most
        compact. What gives way first: the provider word when every row shares it (the user
        typed it), then the unit word and the percentage (the bar shows it); the current step
        goes only once the amounts are as short as they get."""
        shared = len(self.providers) <= 1
        plans = [(False, 0)] + ([(True, 0)] if shared else [])
        plans += [(shared, level) for level in range(1, AMOUNT_LEVELS)]
        return [(short, level, message) for message in (True, False) for short, level in plans]

    def _fit_columns(self, width: int, has_message: bool) -> Columns:
        """The first plan that leaves the bar MIN_BAR columns (and the step MIN_MESSAGE, once
        a row has had one); the bar then grows to MAX_BAR and the step takes the rest. Once a
        plan is in use at this width, only plans at least as compact in every column are
        tried, so no column comes back or widens at another's expense. When none fits, the
        bar goes, then the labels are cut (the provider word first: the id tells rows apart)."""
        plans = self._plans()
        current = self._plan if self._plan is not None and self._plan[0] == width else None
        if current is not None:
            _, short, level, message = current
            plans = [p for p in plans if p[0] >= short and p[1] >= level and p[2] <= message]
        for short, level, message in plans:
            columns = self._columns(width, short, level,
                                    message and bool(self._widest["message"]))
            if columns.bar:
                break
        self._plan = (width, short, level, message)
        return dataclasses.replace(columns, message=columns.message if has_message else 0)

    def _columns(self, width: int, short: bool, level: int, message: bool) -> Columns:
        widest = self._widest
        label, amount = widest["short_label" if short else "label"], widest[f"amount{level}"]
        word, elapsed = widest["word"], widest["elapsed"]
        free = width - (2 + label + 1 + word + 1 + elapsed) - (amount + 1 if amount else 0)
        reserve = 1 + self.MIN_MESSAGE if message else 0
        bar = min(self.MAX_BAR, free - reserve - 1)
        if bar >= self.MIN_BAR:
            rest = free - bar - 1
            return Columns(label=label, short_labels=short, word=word, bar=bar, level=level,
                           amount=amount, elapsed=elapsed, message=rest - 1 if message else 0)
        # The last resort: no bar; then no amount rather than a cut id; then cut labels.
        if free < 0 and amount:
            free, amount = free + amount + 1, 0
        return Columns(label=max(1, label + min(0, free)), short_labels=short, word=word, bar=0,
                       level=level, amount=amount, elapsed=elapsed, message=0)

    def _job_line(self, c: dict[str, Any], columns: Columns, width: int, now: float) -> Any:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append_text(self._mark(c, now))
        line.append(" ")
        line.append_text(_fit(_label(c, columns.short_labels, columns.label), columns.label,
                              "bold"))
        line.append(" ")
        line.append_text(_fit(c["word"], columns.word, c["style"]))
        line.append(" ")
        if columns.bar:
            line.append_text(_bar(c["progress"], columns.bar, now, c["running"],
                                  colour=self.console.color_system is not None
                                  and not self.console.no_color))
            line.append(" ")
        if columns.amount:
            line.append_text(_fit(c["amounts"][columns.level], columns.amount))
            line.append(" ")
        line.append_text(_fit(c["elapsed"], columns.elapsed, "dim"))
        if columns.message > 0 and c["message"]:
            line.append(" ")
            line.append_text(_fit(c["message"], columns.message,
                                  "yellow" if c["noted"] else "", pad=False))
        line.truncate(width, overflow="ellipsis")
        return line

    def _mark(self, cells: dict[str, Any], now: float) -> Any:
        if cells["running"]:
            frame = self.spinner.render(now)
            return frame if isinstance(frame, Text) else Text(str(frame))
        marks = {"succeeded": ("✓", "green"), "failed": ("✗", "red"),
                 "timeout": ("…", "yellow"), "interrupted": ("■", "yellow")}
        glyph, style = marks.get(cells["outcome"] or "", ("!", "red"))
        return Text(glyph, style=style)

    # -- output around and after the rows -------------------------------------------------

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None:
        from rich.table import Table

        with self._lock:
            if self.closed:
                return
            table = Table(title=Text(printable(title)), title_justify="left", show_edge=False,
                          pad_edge=False, highlight=False)
            for column in columns:
                table.add_column(Text(printable(column)), overflow="fold")
            for row in rows:
                table.add_row(*(Text(printable(cell)) for cell in row))
            self.console.print(table)  # above the live rows, which are drawn again below
            if footer:
                self.console.print(Text(printable(footer)))

    def download_progress(self, watch: Any) -> Any:
        return _LiveDownloads(self)

    def abort(self) -> None:
        """An unexpected end: take the display down so the terminal gets its cursor back."""
        with self._lock:
            self._stop_live()

    def _stop_live(self) -> None:
        live, self.live = self.live, None
        if live is not None:
            live.stop()  # a last frame, erased (transient), and the cursor shown again

    def finish(self, watches: list[Any], code: int) -> None:
        with self._lock:
            self._layout = None  # the last frame shows every outcome
            self._stop_live()  # first: whatever fails below, the terminal has its cursor
            self.closed = True
            self._summary(watches)
            for watch in watches:
                saved = saved_summary(watch)
                if saved:
                    self._exact(f"{watch.label}: {saved}")
            finish_notes(self._exact, watches, code, self.resume, self.resumable)
            self.console.file.write(error_lines(watches))

    def _exact(self, line: str) -> None:
        """A line people copy (a resume command, a path) printed as it is: not wrapped into
        two lines at the terminal's width (the terminal wraps it, and a copy stays whole)."""
        self.console.print(Text(printable(line)), soft_wrap=True)

    def _summary(self, watches: list[Any]) -> None:
        from rich.table import Table

        rows = [(("↳ " if watch.parent is not None else "") + watch.label,
                 outcome_text(watch, with_progress=False),
                 progress_text(watch.job) if watch.job is not None else "",
                 OUTCOME_STYLES.get(watch.outcome or "", "red")) for watch in watches]
        if not rows:
            return
        self.console.print()
        label_width = max(len(row[0]) for row in rows)
        progress_width = max(len(row[2]) for row in rows)
        # A job id must stay whole (people copy it); when the terminal is too narrow for
        # id, outcome and progress side by side, each job gets a line of its own.
        if label_width + progress_width + self.MIN_OUTCOME + 2 <= self.console.width:
            table = Table(show_edge=False, pad_edge=False, box=None)
            table.add_column("job", no_wrap=True, min_width=label_width)
            table.add_column("outcome", ratio=1, min_width=self.MIN_OUTCOME)
            table.add_column("progress", no_wrap=True, min_width=progress_width)
            for label, outcome, progress, style in rows:
                table.add_row(Text(label), Text(outcome, style=style), Text(progress))
            self.console.print(table)
            return
        for label, outcome, progress, style in rows:
            line = Text(label + "  ")
            line.append(outcome, style=style)
            if progress:
                line.append("  " + progress)
            self.console.print(line)



def _label(cells: dict[str, Any], short: bool, width: int | None = None) -> str:
    """'merchantops enr_7Hq2', or without the provider word; cut to ``width`` from the
    provider word ('merch… enr_7Hq2', then 'enr_7Hq2'): the id is what tells rows apart."""
    job_id, prefix, provider = cells["id"], cells["prefix"], cells["provider"]
    if short:
        return prefix + job_id
    full = f"{prefix}{provider} {job_id}"
    over = cell_len(full) - width if width is not None else 0
    if over <= 0:
        return full
    keep = len(provider) - over - 1  # the provider's first letters, then "…"
    return f"{prefix}{provider[:keep]}… {job_id}" if keep >= 2 else prefix + job_id


def _fit(text: str, width: int, style: str = "", pad: bool = True) -> Any:
    cell = Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")
    cell.truncate(width, overflow="ellipsis", pad=pad)
    return cell


def _bar(progress: float | None, width: int, now: float, running: bool,
         colour: bool = True) -> Any:
    """A bar as text: cheaper than rich's ProgressBar in a table, and exactly `width` wide.
    Without colour (NO_COLOR, TERM=dumb) the part still to go is drawn thin, ─, since only
    its colour told it from the done part."""
    back = "━" if colour else "─"
    bar = Text(no_wrap=True, end="")
    if progress is None:
        if not running:
            bar.append(back * width, style="bar.back")
            return bar
        # Unknown progress: a short bright stretch sweeping along the bar.
        head = int(now * 15) % (width + 6) - 3
        for i in range(width):
            pulse = 0 <= i - head < 4
            bar.append("━" if pulse else back, style="bar.pulse" if pulse else "bar.back")
        return bar
    filled = max(0.0, min(1.0, progress)) * width
    full = int(filled)
    style = "bar.finished" if progress >= 1 else "bar.complete"
    bar.append("━" * full, style=style)
    if full < width:
        half = filled - full >= 0.5
        bar.append("╸" if half else back, style=style if half else "bar.back")
        bar.append(back * (width - full - 1), style="bar.back")
    return bar


class _FileName(ProgressColumn):
    """'  ↓ name': the file's name as Text, never read as markup or emoji codes."""

    def render(self, task: Task) -> Text:
        return Text.assemble(("  ↓ ", "dim"), printable(task.description))


class _BinaryRate(ProgressColumn):
    """'1.2 MiB/s': rich's own rate column counts in decimal megabytes."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("?" if speed is None else f"{human_size(speed)}/s",
                    style="progress.data.speed")


class _LiveDownloads:
    def __init__(self, renderer: LiveRenderer) -> None:
        self.renderer = renderer
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        with self.renderer._lock:
            self.task = self.renderer.files.add_task(label, total=total)
            self.renderer._files_changed(rows=True)

    def advance(self, n: int) -> None:
        with self.renderer._lock:
            self.renderer.files.advance(self.task, n)
            self.renderer._files_changed()

    def finish(self, label: str, ok: bool) -> None:
        with self.renderer._lock:
            if self.task is not None:
                self.renderer.files.remove_task(self.task)
                self.task = None
            self.renderer._files_changed(rows=True)
