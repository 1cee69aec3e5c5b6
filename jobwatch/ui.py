"""Everything a person reads: the status summary, and the renderers `wait` reports through.

The status path stays cheap: plain ANSI codes, no rich. The live display imports rich lazily.
"""

from __future__ import annotations

import json
import os
import sys
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
# Polling and downloads report through these; the command chooses one, once.


def _job_line(watch: Any) -> str:
    job = watch.job
    if job is None:
        return watch.last_problem or "waiting for the first answer"
    parts = [state_word(job), progress_text(job), printable(job.message or "")]
    return "  ".join(p for p in parts if p)


def outcome_text(watch: Any) -> str:
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
    elif outcome == "timeout":
        text = "still running at the timeout" + (f" ({_job_line(watch)})" if job else "")
    elif outcome == "interrupted" and job is not None and job.terminal:
        text = f"{state_word(job)}; its downloads were interrupted"
    elif outcome == "interrupted":
        text = "still running, no longer watched" + (
            f" (last seen: {_job_line(watch)})" if job else "")
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


class PlainRenderer:
    """One line per change of state or progress, a heartbeat at least every minute. No ANSI."""

    HEARTBEAT = 60.0

    def __init__(self, stream: TextIO, clock: Any, *, resume: Any = "",
                 heartbeat: float = HEARTBEAT) -> None:
        self.stream = stream
        self.clock = clock
        self.start_time = clock()
        self.last_output = self.start_time
        self.seen: dict[int, str] = {}
        self.resume = resume
        self.heartbeat = heartbeat

    def _write(self, text: str) -> None:
        from jobwatch.durations import format_duration

        now = self.clock()
        stamp = format_duration(now - self.start_time)
        try:
            self.stream.write(f"[{stamp:>6}] {printable(text)}\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass
        self.last_output = now

    def start(self, watches: list[Any]) -> None:
        self._watches = watches  # the engine's own list: related jobs appear in it
        if watches:
            self._write(f"watching {', '.join(w.label for w in watches)}")

    def add(self, watch: Any) -> None:
        self._write(f"{watch.label}: also watching (related job)")

    def update(self, watch: Any) -> None:
        line = outcome_text(watch) if watch.done else _job_line(watch)
        if self.seen.get(id(watch)) != line:
            self.seen[id(watch)] = line
            self._write(f"{watch.label}: {line}")

    def problem(self, watch: Any, text: str) -> None:
        self._write(f"{watch.label}: {text}")

    def tick(self, now: float) -> None:
        if now - self.last_output >= self.heartbeat:
            running = [w for w in getattr(self, "_watches", []) if not w.done]
            summary = "; ".join(f"{w.label} {_job_line(w)}" for w in running[:5])
            more = f" (+{len(running) - 5} more)" if len(running) > 5 else ""
            self._write(f"still waiting: {summary}{more}")

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None:
        self._write(title)
        for row in rows:
            self._write("  " + "  ".join(" ".join(cell.split()) for cell in row))
        if footer:
            self._write(f"  {footer}")

    def download_progress(self, watch: Any) -> Any:
        return _PlainDownloads(self, watch)

    def finish(self, watches: list[Any], code: int) -> None:
        for watch in watches:
            self.update(watch)
        _finish_notes(self._write, watches, code, self.resume)
        try:
            self.stream.write(error_lines(watches))
        except (BrokenPipeError, ValueError):
            pass


class _PlainDownloads:
    def __init__(self, renderer: PlainRenderer, watch: Any) -> None:
        self.renderer = renderer
        self.watch = watch
        self.label = ""
        self.total: int | None = None
        self.got = 0

    def start(self, label: str, total: int | None) -> None:
        self.label, self.total, self.got = label, total, 0
        size = f" ({human_size(total)})" if total is not None else ""
        self.renderer._write(f"{self.watch.label}: downloading {label}{size}")

    def advance(self, n: int) -> None:
        self.got += n

    def finish(self, label: str, ok: bool) -> None:
        if ok:
            self.renderer._write(f"{self.watch.label}: saved {label} ({human_size(self.got)})")


def _finish_notes(write: Any, watches: list[Any], code: int, resume: Any) -> None:
    commands = resume(watches) if callable(resume) else ([resume] if resume else [])
    if code == 130:
        write("interrupted: the remote jobs keep running; jobwatch only stopped watching")
    elif code == 124:
        left = [w for w in watches if w.outcome == "timeout"]
        write(f"timed out with {len(left)} job(s) still running: "
              + "; ".join(f"{w.label} ({_job_line(w)})" for w in left))
    left = [w for w in watches if w.outcome == "interrupted"]
    if code != 130 and left:
        first = next((w for w in watches if w.outcome not in ("succeeded", "interrupted")), None)
        reason = f" after {first.label} ended {first.outcome}" if first else ""
        write(f"stopped watching{reason}; still running, no longer watched: "
              + ", ".join(w.label for w in left))
    if code in (124, 130) or any(w.downloads_cut for w in watches):
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

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def start(self, watches: list[Any]) -> None: ...
    def add(self, watch: Any) -> None: ...
    def update(self, watch: Any) -> None: ...
    def problem(self, watch: Any, text: str) -> None: ...
    def tick(self, now: float) -> None: ...
    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None: ...

    def download_progress(self, watch: Any) -> Any:
        from jobwatch.downloads import NullProgress

        return NullProgress()

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
    """On a terminal: one rich row per job (state, bar, step, elapsed, ETA), redrawn at most
    ~10 times a second and about once a second while nothing changes; a summary table at the end.
    """

    MIN_REDRAW = 0.1
    MIN_OUTCOME = 16  # columns the closing table keeps for the outcome text

    def __init__(self, stream: TextIO, clock: Any, *, resume: Any = "") -> None:
        from rich.console import Console

        self.console = Console(file=stream, highlight=False)
        self.clock = clock
        self.resume = resume
        self.live: Any = None
        self.tasks: dict[int, Any] = {}
        self.watch_of: dict[int, Any] = {}
        self.last_redraw = 0.0
        self.dirty = False

    def start(self, watches: list[Any]) -> None:
        from rich.console import Group
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.table import Column
        from rich.text import Text

        def column(**kwargs: Any) -> Column:
            return Column(no_wrap=True, **kwargs)

        class StateSpinner(SpinnerColumn):
            """A spinner while the job runs, a mark once it has ended."""

            def render(self, task: Any) -> Any:
                mark = task.fields.get("mark")
                return Text.from_markup(mark) if mark else super().render(task)

        self.jobs = Progress(
            StateSpinner(),
            TextColumn("[bold]{task.fields[label]}", table_column=column(max_width=32)),
            TextColumn("{task.fields[state]}", table_column=column(min_width=9)),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[amount]}", table_column=column()),
            TextColumn("[dim]{task.fields[elapsed]}", table_column=column()),
            TextColumn("{task.fields[message]}",
                       table_column=column(ratio=1, overflow="ellipsis")),
            console=self.console, auto_refresh=False, expand=True,
        )
        self.files = Progress(
            TextColumn("  [dim]↓[/] {task.description}"), BarColumn(bar_width=28),
            DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
            console=self.console, auto_refresh=False,
        )
        # Transient: at the end the rows give way to the summary table instead of repeating.
        self.live = Live(Group(self.jobs, self.files), console=self.console,
                         auto_refresh=False, transient=True, redirect_stdout=False,
                         redirect_stderr=False)
        self.live.start()
        for watch in watches:
            self.add(watch)

    def add(self, watch: Any) -> None:
        self.tasks[id(watch)] = self.jobs.add_task("", total=None, **self._fields(watch))
        self.watch_of[id(watch)] = watch
        self._redraw(force=True)

    def _fields(self, watch: Any) -> dict[str, str]:
        from rich.markup import escape

        from jobwatch.durations import format_duration

        job = watch.job
        now = watch.ended_at if watch.ended_at is not None else self.clock()
        elapsed = format_duration(now - watch.started)
        if not watch.done and job is not None and job.progress and job.progress > 0:
            remaining = (now - watch.started) * (1 - job.progress) / job.progress
            elapsed += f" eta {format_duration(remaining)}"
        state_name = watch.outcome if watch.done else (job.state.value if job else "waiting")
        style = RICH_STATE_STYLES.get(state_name, "red" if watch.done else "dim")
        state = job.status if job is not None and not watch.done else state_name.replace("_", " ")
        amount = progress_text(job) if job is not None else ""
        marks = {"succeeded": "[green]✓[/]", "failed": "[red]✗[/]", "timeout": "[yellow]…[/]",
                 "interrupted": "[yellow]■[/]"}
        mark = (marks.get(watch.outcome or "", "[red]![/]") if watch.done else "")
        message = (watch.error.message if watch.error else
                   watch.last_problem or (job.message if job else "") or "")
        return {"label": escape(short_label(watch)),
                "state": f"[{style}]{escape(printable(state))}[/]",
                "amount": escape(amount), "elapsed": elapsed, "mark": mark,
                "message": escape(" ".join(printable(message).split()))}

    def update(self, watch: Any) -> None:
        task = self.tasks.get(id(watch))
        if task is None:
            return
        job = watch.job
        progress = job.progress if job is not None else None
        if watch.outcome == "succeeded" and progress is None:
            progress = 1.0
        self.jobs.update(task, total=None if progress is None else 1.0,
                         completed=progress or 0.0, **self._fields(watch))
        if watch.done:
            self.jobs.stop_task(task)
        self._redraw(force=watch.done)

    def problem(self, watch: Any, text: str) -> None:
        task = self.tasks.get(id(watch))
        if task is not None:
            self.jobs.update(task, **self._fields(watch))
            self._redraw()

    def tick(self, now: float) -> None:
        for watch_id, task in self.tasks.items():
            watch = self.watch_of[watch_id]
            if not watch.done:
                self.jobs.update(task, **self._fields(watch))
        self._redraw(force=True)

    def _redraw(self, force: bool = False) -> None:
        import time

        now = time.monotonic()
        if self.live is not None and (force or now - self.last_redraw >= self.MIN_REDRAW):
            self.live.refresh()
            self.last_redraw = now

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=printable(title), title_justify="left", show_edge=False,
                      pad_edge=False, highlight=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text(printable(cell)) for cell in row))
        self.console.print(table)
        if footer:
            self.console.print(printable(footer), markup=False, highlight=False)

    def download_progress(self, watch: Any) -> Any:
        return _LiveDownloads(self)

    def finish(self, watches: list[Any], code: int) -> None:
        from rich.table import Table
        from rich.text import Text

        for watch in watches:
            if id(watch) in self.tasks:
                self.update(watch)
        if self.live is not None:
            self.live.stop()  # also shows the cursor again
            self.live = None
        rows = [(watch.label, outcome_text(watch),
                 progress_text(watch.job) if watch.job is not None else "",
                 RICH_STATE_STYLES.get(watch.outcome or "", "red")) for watch in watches]
        if watches:
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
            else:
                for label, outcome, progress, style in rows:
                    line = Text(label + "  ")
                    line.append(outcome, style=style)
                    if progress:
                        line.append("  " + progress)
                    self.console.print(line)
        _finish_notes(lambda line: self.console.print(printable(line), markup=False,
                                                      highlight=False),
                      watches, code, self.resume)
        self.console.file.write(error_lines(watches))


class _LiveDownloads:
    def __init__(self, renderer: LiveRenderer) -> None:
        self.renderer = renderer
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        from rich.markup import escape

        self.task = self.renderer.files.add_task(escape(label), total=total)
        self.renderer._redraw(force=True)

    def advance(self, n: int) -> None:
        self.renderer.files.advance(self.task, n)
        self.renderer._redraw()

    def finish(self, label: str, ok: bool) -> None:
        if self.task is not None:
            self.renderer.files.remove_task(self.task)
            self.task = None
        self.renderer._redraw(force=True)
