"""Everything a person reads: the status summary, the words shared by every renderer, and the
plain, quiet and JSON renderers `wait` reports through (the live display is jobwatch.live).

The status path stays cheap: plain ANSI codes, no rich.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from jobwatch.streams import silence_stdout
from jobwatch.text import printable

if TYPE_CHECKING:
    from jobwatch.models import Job

STATE_COLORS = {"succeeded": "32", "failed": "31", "canceled": "33", "running": "36",
                "pending": "34", "unknown": "35"}


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


AMOUNT_LEVELS = 3  # the lengths progress_text can say a job's amount in


def progress_text(job: Job, level: int = 0) -> str:
    """'3/8 steps (38%)', '420/1000 items (42%), 3 failed', '57%', or '' when unknown.
    A higher ``level`` says it shorter, for a narrow terminal's live rows: without the unit
    ('420/1000 (42%), 3 failed'), then without the percentage the bar beside it shows
    ('420/1000, 3 failed')."""
    count = _count(job)
    percent = f"{job.progress:.0%}" if job.progress is not None else ""
    amount = count or percent
    if count and level == 0:
        amount += f" {job.unit}"
    if count and percent and level < 2:
        amount += f" ({percent})"
    failed = f"{job.failed_items} failed" if job.failed_items else ""
    return ", ".join(part for part in (amount, failed) if part)


def _count(job: Job) -> str:
    if job.unit not in ("steps", "items") or job.total is None or job.done is None:
        return ""
    return f"{_num(job.done)}/{_num(job.total)}"


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


def json_text(data: Any) -> str:
    """``data`` as one line of JSON, with what a terminal may act on escaped (see
    jobwatch.models.json_text)."""
    from jobwatch.models import json_text as text

    return text(data)


def job_json(job: Job, **extra: Any) -> str:
    """`status --json`'s line (no newline); ``extra`` keys after SPEC's."""
    from jobwatch.models import json_line, json_text

    return json_text({**job.to_json_dict(), **extra}) if extra else json_line(job)


ID_WORDS = {"UUIDs": "UUID", "integers": "integer"}  # an adapter's id_form, in a word


def providers_text(adapters: dict[str, Any]) -> str:
    """`jobwatch providers`: a row per provider (grep-able) in 100 columns, then the notes."""
    rows = [("PROVIDER", "JOB ID", "NEEDS", "DEFAULT BASE_URL", "STATUS PATH")]
    for name, cls in adapters.items():
        needs = list(cls.required) + ([] if cls.default_base_url else ["base_url"])
        rows.append((name, ID_WORDS.get(cls.id_form.split()[0], "string"),
                     ", ".join(needs) or "-", cls.default_base_url or "(none)",
                     cls.status_path))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += ["", "Every profile needs a token (token, token_env or token_command).",
              "Polls are GET {base_url} followed by the status path."]
    lines += [f"{name} also calls GET {{base_url}}{cls.detail_path} once, when a job ends, "
              "for its details." for name, cls in adapters.items() if cls.has_detail]
    lines += ["Optional fields: organization_id (merchantops), interval, timeout, verify, "
              "headers.", "Each field can also come from JOBWATCH_<PROVIDER>_<FIELD>."]
    return "\n".join(lines) + "\n"


# -- `wait` renderers ----------------------------------------------------------------------
# Polling and downloads report through these; the command chooses one, once. The engine calls
# them from its loop, on_end code (details, downloads) from worker threads: each renderer
# serializes its calls with a lock of its own.

OUTCOME_WORDS = {"timeout": "timed out", "not_found": "not found", "auth": "refused",
                 "download_failed": "download failed"}
LAST_SEEN_WIDTH = 40  # how much of a job's current step an interrupted row repeats


def outcome_word(outcome: str) -> str:
    """How a row or a tally says an outcome: "timed out", "not found", "succeeded"."""
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def tally(watches: Iterable[Any]) -> str:
    """'2 succeeded, 1 failed, 3 running': outcomes, and how far the jobs without one got."""
    counts = Counter(outcome_word(w.outcome) if w.outcome is not None else
                     w.job.state.value if w.job is not None else "waiting" for w in watches)
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def no_resume(watches: list[Any]) -> list[str]:
    return []


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
    elif outcome in ("timeout", "interrupted") and watch.ended:
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
    """Binary units, as every renderer shows sizes and rates: '512 B', '1.5 MiB'."""
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
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


class PlainRenderer:
    """One line per change of state or progress, a heartbeat at least every minute, a progress
    line for a running download at least every 15 s, a closing line per job. No ANSI."""

    HEARTBEAT = 60.0
    DOWNLOAD_EVERY = 15.0

    def __init__(self, stream: TextIO, clock: Any, *,
                 resume: Callable[[list[Any]], list[str]] = no_resume,
                 heartbeat: float = HEARTBEAT, resumable: bool = True) -> None:
        self.stream = stream
        self.clock = clock
        self.start_time = clock()
        self.last_output = self.start_time
        self.seen: dict[int, str] = {}
        self.resume = resume
        self.resumable = resumable
        self.heartbeat = heartbeat
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
        return _PlainDownloads(self, watch)

    def finish(self, watches: list[Any], code: int) -> None:
        with self._lock:
            if watches:
                # A closing line per job, so a CI reader need not scan the log for the failure.
                self._write(f"done (exit {code}): {tally(watches)}")
                for watch in watches:
                    saved = saved_summary(watch)
                    files = f"; {saved}" if saved else ""
                    self._write(f"  {watch.label}: {outcome_text(watch)}{files}")
            finish_notes(self._write, watches, code, self.resume, self.resumable)
            self.closed = True
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


def finish_notes(write: Callable[[str], None], watches: list[Any], code: int,
                 resume: Callable[[list[Any]], list[str]], resumable: bool = True) -> None:
    """The lines under the closing ones: which jobs were left running, and how to resume.
    A job that had ended is never said to be running, even when its downloads were cut."""
    stopped = [w for w in watches if w.outcome in ("timeout", "interrupted")]
    timed_out = [w for w in stopped if w.outcome == "timeout" and not w.ended]
    unwatched = [w for w in stopped if w.outcome == "interrupted" and not w.ended]
    cut = [w for w in stopped if w.ended]  # it ended; its details or downloads were stopped
    if code == 130:
        write(_interrupted_note(resumable, bool(timed_out or unwatched)))
    if timed_out:
        head = (f"timed out with {len(timed_out)} job(s) still running: " if resumable else
                f"timed out with {len(timed_out)} job(s) not ended: ")
        write(head + "; ".join(f"{w.label} ({_brief(w) or 'no answer yet'})"
                               for w in timed_out))
    if code != 130 and (unwatched or cut):
        write(_stopped_note(watches, unwatched, cut, resumable))
    if resumable and (stopped or any(w.downloads_cut for w in watches)):
        for command in resume(watches):
            write(f"resume with: {command}")


def _interrupted_note(resumable: bool, running: bool) -> str:
    if not resumable:
        return "interrupted: the watch stopped"
    if running:
        return "interrupted: the remote jobs keep running; jobwatch only stopped watching"
    return "interrupted: downloads stopped; the jobs had ended"


def _stopped_note(watches: list[Any], unwatched: list[Any], cut: list[Any],
                  resumable: bool) -> str:
    """After --fail-fast (or a refused token): why the watch stopped, and what it left."""
    first = next((w for w in watches if w.outcome not in ("succeeded", "interrupted")), None)
    reason = f" after {first.label} ended {first.outcome}" if first else ""
    parts = []
    if unwatched:
        parts.append(("still running, no longer watched: " if resumable else
                      "not watched to the end: ") + ", ".join(w.label for w in unwatched))
    if cut:
        parts.append("ended, downloads cut short: " + ", ".join(w.label for w in cut))
    return f"stopped watching{reason}; " + "; ".join(parts)


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

    def tick(self, now: float) -> None:
        return None  # nothing periodic: the loop sleeps until the next poll

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None: ...

    def download_progress(self, watch: Any) -> Any:
        from jobwatch.downloads import NullProgress

        return NullProgress()

    def finish(self, watches: list[Any], code: int) -> None:
        self.stream.write(error_lines(watches))


def json_lines(watches: list[Any], profile: str) -> str:
    """`wait --json`: one normalized job per line, in command-line order."""
    from jobwatch.models import Outcome, WaitLine, json_line

    lines = []
    for watch in watches:
        outcome: Outcome = watch.outcome or "timeout"
        downloads = [saved.to_json_dict() for saved in watch.downloads]
        line = (WaitLine.of(watch.job, outcome, downloads) if watch.job is not None else
                WaitLine(**_unanswered(watch, profile), outcome=outcome, downloads=downloads))
        lines.append(json_line(line))
    return "\n".join(lines) + "\n"


def _unanswered(watch: Any, profile: str) -> dict[str, Any]:
    """The JSON form of a job that never answered (not found, refused, unreachable): SPEC's
    keys in SPEC's order, null where nothing is known."""
    from jobwatch.models import JSON_KEYS, JobRef, WaitLine

    ref = JobRef(provider=watch.provider, profile=profile, job_id=watch.job_id)
    message = watch.error.message if watch.error else watch.last_problem
    line = WaitLine.unanswered(ref, message, watch.outcome or "timeout")
    return line.model_dump(mode="json", include=set(JSON_KEYS))
