"""Everything a person reads: the status summary, and the renderers `wait` reports through.

The status path stays cheap: plain ANSI codes, no rich. The live display imports rich lazily.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from jobwatch.text import printable

if TYPE_CHECKING:
    from jobwatch.models import Job

STATE_COLORS = {"succeeded": "32", "failed": "31", "canceled": "33", "running": "36",
                "pending": "34", "unknown": "35"}
RICH_STATE_STYLES = {"succeeded": "bold green", "failed": "bold red", "canceled": "yellow",
                     "running": "cyan", "pending": "blue", "unknown": "magenta"}


def wants_color(stream: TextIO, env: Any = os.environ) -> bool:
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def write_out(text: str, stream: TextIO | None = None) -> None:
    """Write data to stdout; a reader that went away (`| head -1`) ends the output quietly,
    a closed or full stdout is an error (the data is lost, and a script must know)."""
    from jobwatch.errors import OutputError

    stream = stream or sys.stdout
    if stream is None:
        raise OutputError("standard output is closed: nothing could be printed")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        silence_stdout()
    except OSError as exc:
        silence_stdout()
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None


def silence_stdout() -> None:
    # Point stdout at /dev/null so the interpreter's final flush does not raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def progress_text(job: Job) -> str:
    """'3/8 steps (38%)', '420/1000 items (42%), 3 failed', '57%', or '' when unknown."""
    parts = []
    if job.unit in ("steps", "items") and job.total is not None and job.done is not None:
        parts.append(f"{_num(job.done)}/{_num(job.total)} {job.unit}")
        if job.progress is not None:
            parts[-1] += f" ({job.progress:.0%})"
    elif job.progress is not None:
        parts.append(f"{job.progress:.0%}")
    if job.failed_items:
        parts.append(f"{job.failed_items} failed")
    return ", ".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def state_word(job: Job) -> str:
    state = job.state.value
    return state if job.status.lower() == state else f"{state} ({printable(job.status)})"


def status_summary(job: Job, color: bool) -> str:
    label = paint(printable(f"{job.provider} {job.job_id}"), "1", color)
    state = paint(state_word(job), STATE_COLORS.get(job.state.value, "0"), color)
    rows = [("progress", progress_text(job)), ("message", job.message or ""),
            ("type", job.job_type or ""), ("created", job.created_at or ""),
            ("started", job.started_at or ""), ("finished", job.finished_at or ""),
            ("url", job.url or "")]
    if job.artifacts:
        rows.append(("artifacts", ", ".join(sorted({a.category for a in job.artifacts}))))
    lines = [f"{label}  {state}"]
    lines += [f"  {paint(name + ':', '2', color):<{11 + (8 if color else 0)}} {printable(value)}"
              for name, value in rows if value]
    return "\n".join(lines) + "\n"


def job_json(job: Job, **extra: Any) -> str:
    return json.dumps({**job.to_json_dict(), **extra}, ensure_ascii=False)


# -- `wait` renderers ----------------------------------------------------------------------
# Polling and downloads report through these; the command chooses one, once. The engine calls
# them from its loop, on_end code (details, downloads) from worker threads: each renderer
# serializes its calls with a lock of its own.

OUTCOME_STYLES = {"succeeded": "green", "failed": "red", "timeout": "yellow",
                  "interrupted": "yellow"}  # the user's own stop is no error; the rest is red
OUTCOME_WORDS = {"timeout": "timed out", "not_found": "not found", "auth": "refused",
                 "download_failed": "download failed"}
LAST_SEEN_WIDTH = 40  # how much of a job's current step an interrupted row repeats


def _job_line(watch: Any) -> str:
    job = watch.job
    if job is None:
        return watch.last_problem or "waiting for the first answer"
    parts = [state_word(job), progress_text(job), printable(job.message or "")]
    return "  ".join(p for p in parts if p)


def _brief(watch: Any, with_progress: bool = True) -> str:
    """How far a job had got, for the notes and the rows of jobs no longer watched."""
    job = watch.job
    if job is None:
        return ""
    message = " ".join(printable(job.message or "").split())
    if len(message) > LAST_SEEN_WIDTH:
        message = message[:LAST_SEEN_WIDTH - 1] + "…"
    amount = progress_text(job) if with_progress else ""
    return ", ".join(p for p in (amount or (state_word(job) if with_progress else ""), message)
                     if p)


def outcome_text(watch: Any, with_progress: bool = True) -> str:
    """The closing words on a job. ``with_progress=False`` where the progress has a column of
    its own (the live summary table), so it is not said twice."""
    from jobwatch.durations import format_duration

    outcome = watch.outcome or "running"
    job = watch.job
    if outcome in ("succeeded", "failed", "download_failed") and job is not None:
        text = "succeeded" if job.state.value == "succeeded" else state_word(job)
        if outcome == "failed" and job.state.value == "succeeded":
            text = "failed (--strict: it ended with failed items or errors)"
        elif outcome == "failed" and job.message:
            text += f": {job.message}"
        text += f" (watched {format_duration(watch.ended_at - watch.started)})"
    elif outcome in ("timeout", "interrupted") and job is not None and job.terminal:
        text = f"{state_word(job)}; its downloads were interrupted"
    elif outcome in ("timeout", "interrupted"):
        text = ("no answer yet" if job is None else "still running") + (
            " at the timeout" if outcome == "timeout" else ", no longer watched")
        seen = _brief(watch, with_progress)
        text += f" ({seen})" if seen else ""
    elif watch.error is not None:
        text = f"{outcome.replace('_', ' ')}: {watch.error.message}"
    else:
        text = outcome.replace("_", " ")
    if watch.download_failures:
        text += f"; {len(watch.download_failures)} download(s) failed"
    return printable(text)


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def display_path(path: Any, cwd: Path | None = None) -> str:
    """``./claret-1/output`` for a path under the current directory, else the path as is."""
    path = Path(path)
    try:
        cwd = Path.cwd() if cwd is None else cwd
        relative = (path if path.is_absolute() else cwd / path).relative_to(cwd)
    except (OSError, ValueError):
        return str(path)
    text = relative.as_posix()
    return "." if text == "." else f"./{text}"


def saved_summary(watch: Any, cwd: Path | None = None, listed: int = 3) -> str | None:
    """'saved 2 files in ./claret-7/ (output/a.csv, errors/e.csv)', or None."""
    paths = [Path(saved.path) for saved in watch.downloads]
    if not paths:
        return None
    folder = Path(os.path.commonpath([str(p.parent) for p in paths]))
    names = [p.relative_to(folder).as_posix() for p in paths]
    shown = ", ".join(names[:listed]) + (
        f", … and {len(names) - listed} more" if len(names) > listed else "")
    count = f"{len(paths)} file{'' if len(paths) == 1 else 's'}"
    return printable(f"saved {count} in {display_path(folder, cwd)}/ ({shown})")


def eta_seconds(first: tuple[float, float] | None, last: tuple[float, float] | None,
                now: float) -> float | None:
    """Time left from the progress seen during this watch: (time, fraction) when progress was
    first seen and when it last moved. None until it has moved: a job resumed at 40% has not
    done 40% in the seconds jobwatch has been watching it."""
    if first is None or last is None:
        return None
    (t0, p0), (t1, p1) = first, last
    if p1 <= p0 or t1 <= t0 or p1 >= 1:
        return None
    rate = (p1 - p0) / (t1 - t0)
    return max(0.0, (1 - p1) / rate - (now - t1))


def _guarded(progress: Any, cancelled: threading.Event | None) -> Any:
    if cancelled is None:
        return progress
    from jobwatch.polling import GuardedProgress

    return GuardedProgress(progress, cancelled)


class PlainRenderer:
    """One line per change of state or progress, a heartbeat at least every minute, a progress
    line for a running download at least every 15 s, a closing line per job. No ANSI."""

    HEARTBEAT = 60.0
    DOWNLOAD_EVERY = 15.0

    def __init__(self, stream: TextIO, clock: Any, *, resume: Any = "",
                 heartbeat: float = HEARTBEAT, resumable: bool = True,
                 cancelled: threading.Event | None = None) -> None:
        self.stream = stream
        self.clock = clock
        self.start_time = clock()
        self.last_output = self.start_time
        self.seen: dict[int, str] = {}
        self.resume = resume
        self.resumable = resumable
        self.heartbeat = heartbeat
        self.cancelled = cancelled
        self.downloads: dict[int, _PlainDownloads] = {}  # running, for progress and heartbeats
        self._watches: list[Any] = []
        self.closed = False
        self._lock = threading.RLock()

    def _write(self, text: str) -> None:
        from jobwatch.durations import format_duration

        with self._lock:
            if self.closed:  # on_end work abandoned at a stop may still report: too late
                return
            now = self.clock()
            stamp = format_duration(now - self.start_time)
            try:
                self.stream.write(f"[{stamp:>6}] {printable(text)}\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass
            self.last_output = now

    def start(self, watches: list[Any]) -> None:
        with self._lock:
            self._watches = watches  # the engine's own list: related jobs appear in it
            if watches:
                self._write(f"watching {', '.join(w.label for w in watches)}")

    def add(self, watch: Any) -> None:
        self._write(f"{watch.label}: also watching (related job)")

    def update(self, watch: Any) -> None:
        with self._lock:
            line = outcome_text(watch) if watch.done else _job_line(watch)
            if self.seen.get(id(watch)) == line:
                return
            self.seen[id(watch)] = line
            saved = saved_summary(watch) if watch.done else None
            if saved:
                self._write(f"{watch.label}: {saved}")
            self._write(f"{watch.label}: {line}")

    def problem(self, watch: Any, text: str) -> None:
        self._write(f"{watch.label}: {text}")

    def tick(self, now: float) -> float:
        with self._lock:
            for download in list(self.downloads.values()):
                download.report_if_due(now)  # a stalled download says so too
            if now - self.last_output >= self.heartbeat:
                self._write(f"still waiting: {self._waiting_summary()}")
            wish = self.last_output + self.heartbeat
            return min([wish] + [d.next_report for d in self.downloads.values()])

    def _waiting_summary(self) -> str:
        busy = {id(d.watch): d for d in self.downloads.values()}
        running = [w for w in self._watches if not w.done]
        parts = [f"{w.label} {busy[id(w)].status()}" if id(w) in busy else
                 f"{w.label} {_job_line(w)}" for w in running[:5]]
        more = f" (+{len(running) - 5} more)" if len(running) > 5 else ""
        return "; ".join(parts) + more

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None:
        with self._lock:
            self._write(title)
            for row in rows:
                self._write("  " + "  ".join(" ".join(cell.split()) for cell in row))
            if footer:
                self._write(f"  {footer}")

    def download_progress(self, watch: Any) -> Any:
        return _guarded(_PlainDownloads(self, watch), self.cancelled)

    def finish(self, watches: list[Any], code: int) -> None:
        with self._lock:
            if watches:
                # A closing line per job, so a CI reader need not scan the log for the failure.
                self._write(f"done (exit {code}): {_tally(watches)}")
                for watch in watches:
                    saved = saved_summary(watch)
                    files = f"; {saved}" if saved else ""
                    self._write(f"  {watch.label}: {outcome_text(watch)}{files}")
            _finish_notes(self._write, watches, code, self.resume, self.resumable)
            self.closed = True
            try:
                self.stream.write(error_lines(watches))
            except (BrokenPipeError, ValueError):
                pass


def _tally(watches: list[Any]) -> str:
    counts: dict[str, int] = {}
    for watch in watches:
        word = OUTCOME_WORDS.get(watch.outcome or "timeout", watch.outcome or "timeout")
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {word}" for word, n in counts.items())


class _PlainDownloads:
    def __init__(self, renderer: PlainRenderer, watch: Any) -> None:
        self.renderer = renderer
        self.watch = watch
        self.label = ""
        self.total: int | None = None
        self.got = 0
        self.started = 0.0
        self.next_report = float("inf")

    def start(self, label: str, total: int | None) -> None:
        with self.renderer._lock:
            self.label, self.total, self.got = label, total, 0
            self.started = self.renderer.clock()
            self.next_report = self.started + self.renderer.DOWNLOAD_EVERY
            self.renderer.downloads[id(self)] = self
            size = f" ({human_size(total)})" if total is not None else ""
            self.renderer._write(f"{self.watch.label}: downloading {label}{size}")

    def advance(self, n: int) -> None:
        self.got += n  # per chunk: one addition and one clock read, no output
        now = self.renderer.clock()
        if now >= self.next_report:
            self.report_if_due(now)

    def report_if_due(self, now: float) -> None:
        with self.renderer._lock:
            if now < self.next_report:
                return
            self.next_report = now + self.renderer.DOWNLOAD_EVERY
            self.renderer._write(f"{self.watch.label}: {self.status(now)}")

    def status(self, now: float | None = None) -> str:
        now = self.renderer.clock() if now is None else now
        elapsed = now - self.started
        rate = f", {human_size(self.got / elapsed)}/s" if elapsed > 0 else ""
        of = f" of {human_size(self.total)}" if self.total is not None else ""
        return f"downloading {self.label}: {human_size(self.got)}{of}{rate}"

    def finish(self, label: str, ok: bool) -> None:
        with self.renderer._lock:
            self.renderer.downloads.pop(id(self), None)
            self.next_report = float("inf")
            if ok:
                self.renderer._write(
                    f"{self.watch.label}: saved {label} ({human_size(self.got)})")


def _finish_notes(write: Any, watches: list[Any], code: int, resume: Any,
                  resumable: bool = True) -> None:
    commands = resume(watches) if callable(resume) else ([resume] if resume else [])
    timed_out = [w for w in watches if w.outcome == "timeout"]
    unwatched = [w for w in watches if w.outcome == "interrupted"]
    if code == 130:
        write("interrupted: the remote jobs keep running; jobwatch only stopped watching"
              if resumable else "interrupted: the watch stopped")
    if timed_out:
        head = (f"timed out with {len(timed_out)} job(s) still running: " if resumable else
                f"timed out with {len(timed_out)} job(s) not ended: ")
        write(head + "; ".join(f"{w.label} ({_brief(w) or 'no answer yet'})"
                               for w in timed_out))
    if code != 130 and unwatched:
        first = next((w for w in watches if w.outcome not in ("succeeded", "interrupted")),
                     None)
        reason = f" after {first.label} ended {first.outcome}" if first else ""
        write(f"stopped watching{reason}; "
              + ("still running, no longer watched: " if resumable else "not watched to the end: ")
              + ", ".join(w.label for w in unwatched))
    if resumable and (timed_out or unwatched or any(w.downloads_cut for w in watches)):
        for command in commands:
            write(f"resume with: {command}")


def error_lines(watches: list[Any]) -> str:
    """The `jobwatch: error:` lines (and hints) for jobs that ended in an error, once each."""
    seen: set[str] = set()
    lines = []
    for watch in watches:
        problems = [(watch.error.message, watch.error.hint)] if watch.error is not None else []
        problems += [(f"download failed: {failure}", None) for failure in watch.download_failures]
        for message, hint in problems:
            lines.append(printable(f"jobwatch: error: {watch.label}: {message}"))
            if hint and hint not in seen:
                seen.add(hint)
                lines.append(printable(f"hint: {hint}"))
    return "".join(line + "\n" for line in lines)


class QuietRenderer:
    """--quiet: nothing but errors."""

    def __init__(self, stream: TextIO, *, cancelled: threading.Event | None = None) -> None:
        self.stream = stream
        self.cancelled = cancelled

    def start(self, watches: list[Any]) -> None: ...
    def add(self, watch: Any) -> None: ...
    def update(self, watch: Any) -> None: ...
    def problem(self, watch: Any, text: str) -> None: ...

    def tick(self, now: float) -> None:
        return None  # nothing periodic: the loop sleeps until the next poll

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None: ...

    def download_progress(self, watch: Any) -> Any:
        from jobwatch.downloads import NullProgress

        return _guarded(NullProgress(), self.cancelled)

    def finish(self, watches: list[Any], code: int) -> None:
        self.stream.write(error_lines(watches))


def json_lines(watches: list[Any], profile: str) -> str:
    """`wait --json`: one normalized job per line, in command-line order."""
    lines = []
    for watch in watches:
        if watch.job is not None:
            data = watch.job.to_json_dict()
        else:
            data = {"provider": watch.provider, "profile": profile, "job_id": watch.job_id,
                    "state": "unknown", "status": None, "terminal": False, "progress": None,
                    "done": None, "total": None, "unit": None, "failed_items": None,
                    "message": watch.error.message if watch.error else watch.last_problem,
                    "job_type": None, "created_at": None, "started_at": None,
                    "finished_at": None, "url": None, "artifacts": [], "raw": None}
        data["outcome"] = watch.outcome or "timeout"
        data["downloads"] = [saved.to_json_dict() for saved in watch.downloads]
        lines.append(json.dumps(data, ensure_ascii=False))
    return "\n".join(lines) + "\n"


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
        return _guarded(_LiveDownloads(self), self.cancelled)

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
            _finish_notes(lambda line: self.console.print(printable(line), markup=False,
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
