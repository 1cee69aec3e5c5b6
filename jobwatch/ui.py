"""Everything a person reads outside the live display: the status summary, the plain and quiet
renderers `wait` reports through, and the JSON forms. The words they share are in
jobwatch.words, the closing lines in jobwatch.closing; the live display is jobwatch.live.

The status path stays cheap: plain ANSI codes, no rich.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from jobwatch.closing import (
    Closing,
    Resume,
    closing,
    no_resume,
    outcome_text,
    saved_summary,
)
from jobwatch.closing import error_lines as error_lines  # where callers have long found it
from jobwatch.streams import silence_stdout
from jobwatch.text import printable, shown
from jobwatch.words import NAMED, human_size, named, progress_text, state_word

if TYPE_CHECKING:
    from jobwatch.adapters.capabilities import ReportedError
    from jobwatch.engine import Watch
    from jobwatch.models import Job
    from jobwatch.progress import DownloadProgress

STATE_COLORS = {"succeeded": "32", "failed": "31", "canceled": "33", "running": "36",
                "pending": "34", "unknown": "35"}


def wants_color(stream: TextIO, env: Mapping[str, str] = os.environ) -> bool:
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


ERROR_COLUMNS = ["type", "key", "message"]
ERRORS_SHOWN = 5  # rows of a job's error table; the title counts them all


def error_table(label: str, errors: list[ReportedError], listed: int, warnings: int
                ) -> tuple[str, list[str], list[list[str]], str]:
    """A job's error list as (title, columns, rows, footer) for `Renderer.report_table`: the
    first few errors a provider's detail answer listed (``listed`` in all, ``errors`` those of
    the documented shape), each message on one line; the footer says what was left out."""
    rows = [[e.kind, e.key, " ".join(e.message.split())] for e in errors[:ERRORS_SHOWN]]
    rest = listed - len(rows)
    footer = "; ".join(part for part in (
        f"… and {rest} more error(s)" if rest > 0 else "",
        f"{warnings} warning(s)" if warnings else "") if part)
    return f"{label}: {listed} error(s)", ERROR_COLUMNS, rows, footer


def write_out(text: str, stream: TextIO | None = None) -> None:
    """Write data to stdout; a reader that went away (`| head -1`) ends the output quietly,
    a closed or full stdout is an error (the data is lost, and a script must know)."""
    from jobwatch.errors import OutputError

    if not text:  # nothing lost: a closed stdout is no error here (`download ... >&-`)
        return
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
    lines += [f"  {paint(name + ':', '2', color):<{11 + (8 if color else 0)}} {shown(value)}"
              for name, value in rows if value]
    return "\n".join(lines) + "\n"


def json_text(data: Any) -> str:
    """``data`` as one line of JSON, with what a terminal may act on escaped (see
    jobwatch.models.json_text)."""
    from jobwatch.models import json_text as text

    return text(data)


def job_json(job: Job, **extra: Any) -> str:
    """`status --json`'s line (no newline); ``extra`` keys after SPEC's."""
    from jobwatch.models import json_line, json_text

    return json_text({**job.to_json_dict(), **extra}) if extra else json_line(job)


# -- `wait` renderers ----------------------------------------------------------------------
# Polling and downloads report through these; the command chooses one, once. The engine calls
# them from its loop, on_end code (details, downloads) from worker threads: each renderer
# serializes its calls with a lock of its own.


def _job_line(watch: Watch) -> str:
    job = watch.job
    if job is None:
        return watch.last_problem or "waiting for the first answer"
    parts = [state_word(job), progress_text(job), shown(job.message or "")]
    return "  ".join(p for p in parts if p)


def _line_key(watch: Watch) -> tuple[object, ...]:
    """Everything _job_line says of a watch: equal keys, equal lines."""
    job = watch.job
    if job is None:
        return (None, watch.last_problem)
    return (job.state, job.status, job.progress, job.done, job.total, job.unit,
            job.failed_items, job.message)


def watching_line(watches: list[Watch]) -> str:
    """The plain log's first line: the jobs by name, the first few of a long list."""
    count = f"{len(watches)} jobs: " if len(watches) > NAMED else ""
    return f"watching {count}{named([w.label for w in watches])}"


class PlainRenderer:
    """One line per change of state or progress, a heartbeat at least every minute, a progress
    line for a running download at least every 15 s, a closing line per job. No ANSI."""

    HEARTBEAT = 60.0
    DOWNLOAD_EVERY = 15.0

    def __init__(self, stream: TextIO, clock: Callable[[], float], *,
                 resume: Resume = no_resume, heartbeat: float = HEARTBEAT,
                 resumable: bool = True, batch: bool = False) -> None:
        self.stream = stream
        # batch: the lines update() makes wait for the loop's next tick (it ticks before each
        # wait), and go out together: one write for the answers of a wake, not one each (a
        # write lets go of the GIL, and getting it back from 16 busy workers costs more than
        # the line). Everything else, and every line when batch is off, goes out at once.
        self.batch = batch
        self._pending: list[str] = []
        self.clock = clock
        self.start_time = clock()
        self.last_output = self.start_time
        self.seen: dict[int, str] = {}
        self._keys: dict[int, tuple[object, ...]] = {}  # of the line last seen, per watch
        self.resume = resume
        self.resumable = resumable
        self.heartbeat = heartbeat
        self.downloads: dict[int, _PlainDownloads] = {}  # running, for progress and heartbeats
        self._watches: list[Watch] = []
        self.closed = False
        self._lock = threading.RLock()

    def _write(self, text: str, stamp: bool = True, later: bool = False) -> None:
        self._write_all([(text, stamp)], later)

    def _write_all(self, lines: list[tuple[str, bool]], later: bool = False) -> None:
        """Lines (text, stamped) in one write: the closing block of a thousand jobs is one
        write to the log, not a thousand. ``later``: kept for the next tick, with batch."""
        from jobwatch.durations import format_duration

        with self._lock:
            if self.closed:  # on_end work abandoned at a stop may still report: too late
                return
            now = self.clock()
            head = f"[{format_duration(now - self.start_time):>6}] "
            block = "".join(f"{head if stamp else ''}{printable(text)}\n"
                            for text, stamp in lines)
            self.last_output = now
            if later and self.batch:
                self._pending.append(block)
            else:
                self._emit(block)

    def _emit(self, text: str) -> None:
        """``text`` after the lines kept for later; the caller holds the lock."""
        if self._pending:
            text = "".join(self._pending) + text
            self._pending.clear()
        if not text:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def say(self, lines: list[str]) -> None:
        with self._lock:
            self._emit("")  # the lines kept for later came first
            _write_lines(self.stream, lines)

    def start(self, watches: list[Watch]) -> None:
        with self._lock:
            self._watches = watches  # the engine's own list: related jobs appear in it
            if watches:
                self._write(watching_line(watches))

    def add(self, watch: Watch) -> None:
        self._write(f"{watch.label}: also watching (related job)")

    def update(self, watch: Watch) -> None:
        with self._lock:
            if not watch.done:
                # An answer like the last one (most polls of a long job) needs no line made.
                key = _line_key(watch)
                if self._keys.get(id(watch)) == key and id(watch) in self.seen:
                    return
                self._keys[id(watch)] = key
            line = outcome_text(watch) if watch.done else _job_line(watch)
            if self.seen.get(id(watch)) == line:
                return
            self.seen[id(watch)] = line
            saved = saved_summary(watch) if watch.done else None
            if saved:
                self._write(f"{watch.label}: {saved}", later=True)
            self._write(f"{watch.label}: {line}", later=True)

    def problem(self, watch: Watch, text: str) -> None:
        self._write(f"{watch.label}: {text}")

    def tick(self, now: float) -> float:
        with self._lock:
            self._emit("")  # the loop is about to wait: what its answers said goes out now
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
        lines = [(title, True)]
        lines += [("  " + "  ".join(" ".join(shown(cell).split()) for cell in row), True)
                  for row in rows]
        if footer:
            lines.append((f"  {footer}", True))
        self._write_all(lines)

    def download_progress(self, watch: Watch) -> DownloadProgress:
        return _PlainDownloads(self, watch)

    def abort(self) -> None:
        """Nothing to give back: plain lines leave the terminal as they found it. The lines
        kept for the next tick go out."""
        with self._lock:
            self._emit("")

    def finish(self, watches: list[Watch], code: int) -> None:
        with self._lock:
            self.paint_closing(closing(watches, code, self.resume, self.resumable))

    def paint_closing(self, end: Closing) -> None:
        """A closing line per job, so a CI reader need not scan the log for the failure; the
        paths whole, as a script or a person copies them from a log."""
        lines: list[tuple[str, bool]] = []
        if end.endings:
            lines.append((f"done (exit {end.code}): {end.tally}", True))
            for ending in end.endings:
                files = f"; {ending.saved.text()}" if ending.saved is not None else ""
                lines.append((f"  {ending.label}: {ending.said}{files}", True))
        lines += [(note, True) for note in end.notes]
        for command in end.resume:
            first, *rest = command.split("\n")
            lines.append((f"resume with: {first}", True))
            # A here-document's lines, unstamped: they are copied as they are.
            lines += [(line, False) for line in rest]
        if lines:
            self._write_all(lines)  # after the lines kept for later, if any
        else:
            self._emit("")
        self.closed = True
        try:
            self.stream.write("".join(line + "\n" for line in end.errors))
        except (BrokenPipeError, ValueError):
            pass


class _PlainDownloads:
    def __init__(self, renderer: PlainRenderer, watch: Watch) -> None:
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


class QuietRenderer:
    """--quiet: nothing but errors. Ctrl-C is one: it is said, with the command that resumes
    (a timeout is not: exit 124 says it)."""

    def __init__(self, stream: TextIO, resume: Resume = no_resume,
                 resumable: bool = True) -> None:
        self.stream = stream
        self.resume = resume
        self.resumable = resumable

    def start(self, watches: list[Watch]) -> None: ...
    def add(self, watch: Watch) -> None: ...
    def update(self, watch: Watch) -> None: ...
    def problem(self, watch: Watch, text: str) -> None: ...

    def tick(self, now: float) -> None:
        return None  # nothing periodic: the loop sleeps until the next poll

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None: ...

    def download_progress(self, watch: Watch) -> DownloadProgress:
        from jobwatch.progress import NullProgress

        return NullProgress()

    def abort(self) -> None: ...

    def say(self, lines: list[str]) -> None:
        _write_lines(self.stream, lines)  # the user's own hook: --quiet is about jobwatch

    def finish(self, watches: list[Watch], code: int) -> None:
        self.stream.write(error_lines(watches))
        if code == 130:
            lines = ["jobwatch: error: interrupted"]
            for command in self.resume(watches) if self.resumable else []:
                first, *rest = command.split("\n")
                lines += [f"hint: resume with: {first}", *rest]
            _write_lines(self.stream, lines)


def _write_lines(stream: TextIO, lines: list[str]) -> None:
    try:
        stream.write("".join(line + "\n" for line in lines))
        stream.flush()
    except (BrokenPipeError, ValueError):
        pass


def json_lines(watches: list[Any], profile: str = "default") -> str:
    """`wait --json`: one normalized job per line, in command-line order (``profile`` is
    the run's; each watch carries its own)."""
    from jobwatch.lines import wait_line
    from jobwatch.models import json_line

    return "".join(json_line(wait_line(watch)) + "\n" for watch in watches)
