"""The live display `wait` draws on a terminal: a row per job, a bar, a spinner, the files
downloading, and a summary table at the end. Imports rich, so only a terminal run loads it."""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from jobwatch.text import printable
from jobwatch.ui import (
    OUTCOME_WORDS,
    error_lines,
    eta_seconds,
    finish_notes,
    guarded,
    outcome_text,
    progress_text,
    saved_summary,
)

RICH_STATE_STYLES = {"succeeded": "bold green", "failed": "bold red", "canceled": "yellow",
                     "running": "cyan", "pending": "blue", "unknown": "magenta"}
OUTCOME_STYLES = {"succeeded": "green", "failed": "red", "timeout": "yellow",
                  "interrupted": "yellow"}  # the user's own stop is no error; the rest is red


def short_label(watch: Any) -> str:
    """UUIDs shortened like git's short hashes; the summary table shows them whole."""
    job_id = watch.job_id
    if len(job_id) == 36 and job_id.count("-") == 4:
        job_id = job_id[:8] + "…"
    return f"{watch.provider} {job_id}"


class LiveRenderer:
    """On a terminal: one row per job (mark or spinner, label, state, bar, amount, elapsed and
    ETA, current step) and a summary table at the end.

    Cheap at any number of jobs: events only mark the display dirty; the engine's tick
    redraws, at most every MIN_REDRAW after the previous redraw *ended*, and only the rows that
    fit the terminal (ended-just-now and running first, then a "… N more" line). While
    nothing changes the spinner moves ~8 times a second, slower when a redraw is costly.
    Rows stay MARGIN columns short of the terminal's width: the tty echoes "^C" after the last
    row, and a wrapped echo would throw the final erase off by a line.
    """

    MIN_REDRAW = 0.1
    SPIN = 0.125
    SPIN_SHARE = 0.03  # of a core, at most, for the spinner while idle
    MARGIN = 3
    MIN_MESSAGE = 16
    MAX_BAR = 24
    MIN_BAR = 6
    RECENT = 5.0  # a job that ended this recently keeps its row when rows run short
    RELAYOUT = 1.0
    MIN_OUTCOME = 16  # columns the closing table keeps for the outcome text

    def __init__(self, stream: TextIO, clock: Any, *, resume: Any = "",
                 resumable: bool = True, cancelled: threading.Event | None = None,
                 console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console(file=stream, highlight=False)
        self.clock = clock
        self.resume = resume
        self.resumable = resumable
        self.cancelled = cancelled
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
        self.closed = False
        self._lock = threading.RLock()

    # -- events: cheap, they only mark the display dirty ----------------------------------

    def start(self, watches: list[Any]) -> None:
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.spinner import Spinner
        from rich.table import Column

        with self._lock:
            self.watches = watches  # the engine's list: related jobs sit under their parent
            self.spinner = Spinner("dots")
            self.files = Progress(
                TextColumn("  [dim]↓[/] {task.description}",
                           table_column=Column(no_wrap=True, overflow="ellipsis")),
                BarColumn(bar_width=20), DownloadColumn(), TransferSpeedColumn(),
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

    def _redraw_soon(self) -> None:
        """From download callbacks: `jobwatch download` has no loop to tick the display."""
        if self.live is not None and self.clock() >= self.last_redraw + self._gap():
            self._redraw()

    # -- one frame: O(rows shown) ---------------------------------------------------------

    def _frame(self) -> Any:
        from rich.console import Group
        from rich.constrain import Constrain
        from rich.text import Text

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
            self._layout = ([watches[i] for i in shown], _more_line(hidden))
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
            word = OUTCOME_WORDS.get(watch.outcome, watch.outcome.replace("_", " "))
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
        label = short_label(watch)
        return {"label": f"↳ {label}" if watch.parent is not None else label,
                "word": word, "style": style, "progress": progress,
                "running": not watch.done, "outcome": watch.outcome,
                "amount": progress_text(job) if job is not None else "",
                "elapsed": elapsed, "message": " ".join(printable(message).split()),
                "noted": bool(note or watch.last_problem)}

    def _job_lines(self, cells: list[dict[str, Any]], width: int) -> list[Any]:
        from rich.cells import cell_len
        from rich.text import Text

        if not cells:
            return []
        label_w = min(32, max(cell_len(c["label"]) for c in cells))
        word_w = min(16, max(9, max(cell_len(c["word"]) for c in cells)))
        amount_w = min(28, max(cell_len(c["amount"]) for c in cells))
        elapsed_w = max(cell_len(c["elapsed"]) for c in cells)
        others = 2 + 1 + word_w + 1 + (amount_w + 1 if amount_w else 0) + elapsed_w + 1
        # On a narrow terminal long labels give way first (to 12 columns), then the bar.
        label_w = max(min(12, label_w), min(label_w, width - others - self.MIN_MESSAGE))
        free = width - others - label_w
        # The current step keeps MIN_MESSAGE columns; the bar shrinks (or goes) first.
        bar_w = min(self.MAX_BAR, free - self.MIN_MESSAGE - 1)
        bar_w = bar_w if bar_w >= self.MIN_BAR else 0
        message_w = max(0, free - (bar_w + 1 if bar_w else 0))
        now = self.clock()
        lines = []
        for c in cells:
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append_text(self._mark(c, now))
            line.append(" ")
            line.append_text(_fit(c["label"], label_w, "bold"))
            line.append(" ")
            line.append_text(_fit(c["word"], word_w, c["style"]))
            line.append(" ")
            if bar_w:
                line.append_text(_bar(c["progress"], bar_w, now, c["running"]))
                line.append(" ")
            if amount_w:
                line.append_text(_fit(c["amount"], amount_w))
                line.append(" ")
            line.append_text(_fit(c["elapsed"], elapsed_w, "dim"))
            if message_w and c["message"]:
                line.append(" ")
                line.append_text(_fit(c["message"], message_w, "yellow" if c["noted"] else "",
                                      pad=False))
            line.truncate(width, overflow="ellipsis")
            lines.append(line)
        return lines

    def _mark(self, cells: dict[str, Any], now: float) -> Any:
        from rich.text import Text

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
        from rich.text import Text

        with self._lock:
            if self.closed:
                return
            table = Table(title=printable(title), title_justify="left", show_edge=False,
                          pad_edge=False, highlight=False)
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*(Text(printable(cell)) for cell in row))
            self.console.print(table)  # above the live rows, which are drawn again below
            if footer:
                self.console.print(printable(footer), markup=False, highlight=False)

    def download_progress(self, watch: Any) -> Any:
        return guarded(_LiveDownloads(self), self.cancelled)

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
            self._saved_lines(watches)
            finish_notes(lambda line: self.console.print(printable(line), markup=False,
                                                          highlight=False),
                          watches, code, self.resume, self.resumable)
            self.console.file.write(error_lines(watches))

    def _summary(self, watches: list[Any]) -> None:
        from rich.table import Table
        from rich.text import Text

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

    def _saved_lines(self, watches: list[Any]) -> None:
        from rich.text import Text

        for watch in watches:
            saved = saved_summary(watch)
            if saved:
                self.console.print(Text(f"{watch.label}: {saved}"))


def _more_line(hidden: list[Any]) -> str:
    counts: dict[str, int] = {}
    for watch in hidden:
        if watch.done:
            word = OUTCOME_WORDS.get(watch.outcome, watch.outcome.replace("_", " "))
        else:
            word = watch.job.state.value if watch.job is not None else "waiting"
        counts[word] = counts.get(word, 0) + 1
    return f"… {len(hidden)} more: " + ", ".join(f"{n} {word}" for word, n in counts.items())


def _fit(text: str, width: int, style: str = "", pad: bool = True) -> Any:
    from rich.text import Text

    cell = Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")
    cell.truncate(width, overflow="ellipsis", pad=pad)
    return cell


def _bar(progress: float | None, width: int, now: float, running: bool) -> Any:
    """A bar as text: cheaper than rich's ProgressBar in a table, and exactly `width` wide."""
    from rich.text import Text

    bar = Text(no_wrap=True, end="")
    if progress is None:
        if not running:
            bar.append("━" * width, style="bar.back")
            return bar
        # Unknown progress: a short bright stretch sweeping along the bar.
        head = int(now * 15) % (width + 6) - 3
        for i in range(width):
            bar.append("━", style="bar.pulse" if 0 <= i - head < 4 else "bar.back")
        return bar
    filled = max(0.0, min(1.0, progress)) * width
    full = int(filled)
    style = "bar.finished" if progress >= 1 else "bar.complete"
    bar.append("━" * full, style=style)
    if full < width:
        half = filled - full >= 0.5
        bar.append("╸" if half else "━", style=style if half else "bar.back")
        bar.append("━" * (width - full - 1), style="bar.back")
    return bar


class _LiveDownloads:
    def __init__(self, renderer: LiveRenderer) -> None:
        self.renderer = renderer
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        from rich.markup import escape

        with self.renderer._lock:
            self.task = self.renderer.files.add_task(escape(label), total=total)
            self.renderer.dirty = True
            self.renderer._layout = None  # a file row takes a job row's place
            self.renderer._redraw_soon()

    def advance(self, n: int) -> None:
        with self.renderer._lock:
            self.renderer.files.advance(self.task, n)
            self.renderer.dirty = True
            self.renderer._redraw_soon()

    def finish(self, label: str, ok: bool) -> None:
        with self.renderer._lock:
            if self.task is not None:
                self.renderer.files.remove_task(self.task)
                self.task = None
            self.renderer.dirty = True
            self.renderer._layout = None
            self.renderer._redraw_soon()
