"""LiveRenderer: the Renderer `wait` and `download` report to on a terminal. It keeps the
state between events and puts the pieces of this package together; what a frame looks like is
decided in layout.py and summary.py, when it is drawn in pacing.py."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group, RenderableType
from rich.text import Text

from jobwatch.closing import Closing, Resume, closing, no_resume
from jobwatch.live import paint
from jobwatch.live.layout import MARGIN, ColumnLayout, file_rows, pick_rows
from jobwatch.live.pacing import Pacing
from jobwatch.live.region import live_region, terminal_reflows
from jobwatch.live.rows import Row, RowBook
from jobwatch.live.summary import closing_lines

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.live import Live
    from rich.progress import Progress, TaskID
    from rich.spinner import Spinner

    from jobwatch.engine import Watch
    from jobwatch.progress import DownloadProgress


class LiveRenderer:
    """On a terminal: one row per job (mark or spinner, label, state, bar, amount, elapsed and
    ETA, current step), the files downloading, and at the end a summary that fits the width.

    Cheap at any number of jobs: events only mark the display dirty; the engine's tick
    redraws (Pacing: ~10 a second at most, on the injected clock), and only the rows that fit
    the terminal (ended-just-now and running first, then a "… N more" line). While nothing
    changes the spinner moves ~8 times a second, slower when a redraw is costly. Rows stay
    MARGIN columns short of the terminal for the tty's "^C" echo. The bar keeps one width
    through a run; the other columns give way around it (ColumnLayout). A resize leaves no
    rows behind (region.py). Without colour the bar's part still to go is drawn thin.
    """

    RELAYOUT = 1.0  # which rows are shown is decided again at least this often

    def __init__(self, stream: TextIO, clock: Callable[[], float], *,
                 resume: Resume = no_resume, resumable: bool = True,
                 console: Console | None = None, reflows: bool | None = None) -> None:
        self.console = console or Console(file=stream, highlight=False)
        self.clock = clock
        self.resume = resume
        self.resumable = resumable
        # Whether the terminal re-wraps its rows when it narrows (region.py).
        self.reflows = terminal_reflows(os.environ) if reflows is None else reflows
        self.book = RowBook()
        self.pacing = Pacing()
        self.layout = ColumnLayout()
        self.live: Live | None = None
        self.files: Progress | None = None
        self.spinner: Spinner | None = None
        self.watches: list[Watch] = []
        self.providers: set[str] = set()
        self._shown: tuple[list[Watch], str] | None = None
        self._shown_at = float("-inf")
        self._shown_in = (0, 0)  # the terminal's size then
        self.closed = False
        self._lock = threading.RLock()

    # -- events: cheap, they only mark the display dirty ----------------------------------

    def start(self, watches: list[Watch]) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
        from rich.spinner import Spinner
        from rich.table import Column

        with self._lock:
            self.watches = watches  # the engine's list: related jobs sit under their parent
            self.providers = {watch.provider for watch in watches}
            self.spinner = Spinner("dots")
            # Binary units, as the plain log and the closing lines say sizes (MiB, MiB/s).
            self.files = Progress(
                paint.FileName(table_column=Column(no_wrap=True, overflow="ellipsis")),
                BarColumn(bar_width=20), DownloadColumn(binary_units=True), paint.BinaryRate(),
                TimeRemainingColumn(), console=self.console, auto_refresh=False,
                get_time=self.clock,  # rates and times left on the same clock as the rest
            )
            self.live = live_region(self.console, self._frame, self.reflows)
            self.live.start()

    def add(self, watch: Watch) -> None:
        with self._lock:
            if not any(w is watch for w in self.watches):
                self.watches.append(watch)
            self.providers.add(watch.provider)
            self.book.changed(watch, self.clock())
            self._changed()

    def update(self, watch: Watch) -> None:
        with self._lock:
            self.book.updated(watch, self.clock())
            self._changed()

    def problem(self, watch: Watch, text: str) -> None:
        with self._lock:
            self.book.noted(watch, text, self.clock())
            self._changed()

    def _changed(self, rows: bool = True) -> None:
        self.pacing.changed()
        if rows:
            self._shown = None

    def tick(self, now: float) -> float | None:
        with self._lock:
            if self.live is None:
                return None
            if self.pacing.due(now):
                self._redraw()
            return self.pacing.wish()

    def _redraw(self) -> None:
        with self._lock:
            if self.live is None:
                return
            began = self.clock()
            self.live.refresh()
            self.pacing.drawn(began, self.clock())

    def _files_changed(self, rows: bool = False) -> None:
        """From download callbacks, which redraw themselves: `jobwatch download` has no loop
        to tick the display. ``rows``: a file row came or went, and takes or gives back a
        job row's place."""
        self._changed(rows)
        if self.live is not None and self.pacing.may_redraw(self.clock()):
            self._redraw()

    # -- one frame: O(rows shown) ---------------------------------------------------------

    def _frame(self) -> RenderableType:
        from rich.constrain import Constrain

        with self._lock:
            if self.files is None:
                return ""
            width = max(20, self.console.width - MARGIN)
            shown, more = self._rows()
            now = self.clock()
            lines: list[RenderableType] = []
            if shown:
                rows = [self.book.row(watch, now) for watch in shown]
                columns = self.layout.fit(rows, width, shared=len(self.providers) <= 1)
                colour = self.console.color_system is not None and not self.console.no_color
                lines += [paint.row_text(row, columns, width, self._mark(row, now), now, colour)
                          for row in rows]
            if more:
                lines.append(Text(more, style="dim", no_wrap=True, overflow="ellipsis"))
            files = len(self.files.tasks)
            if file_rows(files, self.console.height) == files:
                lines.append(self.files)
            else:  # more downloads at once than the screen has room for
                lines.append(Text(f"  ↓ {files} files downloading", style="dim",
                                  no_wrap=True, overflow="ellipsis"))
            return Constrain(Group(*lines), width)

    def _rows(self) -> tuple[list[Watch], str]:
        """The jobs that get a row, and the "… N more" line: decided again when something
        changed, and each second (a recent end stops being recent)."""
        now = self.clock()
        size = (self.console.width, self.console.height)
        if self._shown is None or now >= self._shown_at + self.RELAYOUT or size != self._shown_in:
            files = len(self.files.tasks) if self.files is not None else 0
            budget = max(2, size[1] - 2 - file_rows(files, size[1]))
            self._shown = pick_rows(self.watches, budget, now, self.book.changed_at)
            self._shown_at, self._shown_in = now, size
        return self._shown

    def _mark(self, row: Row, now: float) -> Text:
        if not row.running or self.spinner is None:
            return paint.ended_mark(row.outcome)
        frame = self.spinner.render(now)
        return frame if isinstance(frame, Text) else Text(str(frame))

    # -- output around and after the rows -------------------------------------------------

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None:
        from rich.table import Table

        from jobwatch.text import printable, shown

        with self._lock:
            if self.closed:
                return
            table = Table(title=Text(printable(title)), title_justify="left", show_edge=False,
                          pad_edge=False, highlight=False)
            for column in columns:
                table.add_column(Text(printable(column)), overflow="fold")
            for row in rows:
                table.add_row(*(Text(shown(cell)) for cell in row))
            self.console.print(table)  # above the live rows, which are drawn again below
            if footer:
                self.console.print(Text(printable(footer)))

    def download_progress(self, watch: Watch) -> DownloadProgress:
        return _LiveDownloads(self)

    def say(self, lines: list[str]) -> None:
        with self._lock:
            # Above the live rows while they show (rich draws them again below), else after.
            self.console.print(Text("\n".join(lines)), soft_wrap=True, highlight=False,
                               markup=False)

    def abort(self) -> None:
        """An unexpected end: take the display down so the terminal gets its cursor back."""
        with self._lock:
            self._stop_live()

    def _stop_live(self) -> None:
        live, self.live = self.live, None
        if live is not None:
            live.stop()  # a last frame, erased (transient), and the cursor shown again

    def finish(self, watches: list[Watch], code: int) -> None:
        with self._lock:
            self._shown = None  # the last frame shows every outcome
            self._stop_live()  # first: whatever fails below, the terminal has its cursor
            self.closed = True
            self.paint_closing(closing(watches, code, self.resume, self.resumable))

    def paint_closing(self, end: Closing) -> None:
        for line in closing_lines(end, self.console.width):
            self.console.print(paint.line_text(line), soft_wrap=True)


class _LiveDownloads:
    """A file's progress as a row under the jobs'."""

    def __init__(self, renderer: LiveRenderer) -> None:
        self.renderer = renderer
        self.task: TaskID | None = None

    def start(self, label: str, total: int | None) -> None:
        with self.renderer._lock:
            if self.renderer.files is not None:
                self.task = self.renderer.files.add_task(label, total=total)
            self.renderer._files_changed(rows=True)

    def advance(self, n: int) -> None:
        with self.renderer._lock:
            if self.renderer.files is not None and self.task is not None:
                self.renderer.files.advance(self.task, n)
            self.renderer._files_changed()

    def finish(self, label: str, ok: bool) -> None:
        with self.renderer._lock:
            if self.renderer.files is not None and self.task is not None:
                self.renderer.files.remove_task(self.task)
                self.task = None
            self.renderer._files_changed(rows=True)
