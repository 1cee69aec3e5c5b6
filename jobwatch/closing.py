"""What a watch says when it ends, built once and painted by each renderer: how each job ended
and where its files went, the notes on jobs left running, the commands that resume them and
the error lines. The plain log writes it line by line with full paths; the live display lays
it out for the terminal's width (jobwatch.live.summary). Pure: no I/O, no rich."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch.text import printable, shown
from jobwatch.words import NAMED, display_path, named, progress_text, state_word, tally

if TYPE_CHECKING:
    from jobwatch.engine import Watch

Resume = Callable[[list["Watch"]], list[str]]  # the commands that take the watch up again
LAST_SEEN_WIDTH = 40  # how much of a job's current step an interrupted row repeats
LISTED_FILES = 3  # file names a closing line lists before "… and N more"


def no_resume(watches: list[Watch]) -> list[str]:
    return []


@dataclass(frozen=True)
class SavedFiles:
    """A job's saved files: ``folder`` as the user would type it, the first names in it."""

    count: int
    folder: str
    names: tuple[str, ...]
    more: int  # saved but not named

    @property
    def head(self) -> str:
        return f"saved {self.count} file{'' if self.count == 1 else 's'} in"

    def text(self) -> str:
        """'saved 2 files in ./claret-7/ (output/a.csv, errors/e.csv)'."""
        shown = ", ".join(self.names) + (f", … and {self.more} more" if self.more else "")
        return f"{self.head} {self.folder}/ ({shown})"


def saved_files(watch: Watch, cwd: Path | None = None,
                listed: int = LISTED_FILES) -> SavedFiles | None:
    paths = [Path(saved.path) for saved in watch.downloads]
    if not paths:
        return None
    folder = Path(os.path.commonpath([str(p.parent) for p in paths]))
    names = [printable(p.relative_to(folder).as_posix()) for p in paths]
    return SavedFiles(len(paths), printable(display_path(folder, cwd)), tuple(names[:listed]),
                      max(0, len(names) - listed))


def saved_summary(watch: Watch, cwd: Path | None = None, listed: int = LISTED_FILES
                  ) -> str | None:
    """'saved 2 files in ./claret-7/ (output/a.csv, errors/e.csv)', or None."""
    saved = saved_files(watch, cwd, listed)
    return saved.text() if saved is not None else None


def _unanswered(watch: Watch) -> str:
    """A job with no answer yet: the provider said it does not know it yet
    (--not-found-grace), or nothing came."""
    return "waiting to appear" if watch.waiting else "no answer yet"


def _brief(watch: Watch, with_progress: bool = True) -> str:
    """How far a job had got, for the notes and the rows of jobs no longer watched."""
    job = watch.job
    if job is None:
        return ""
    message = " ".join(shown(job.message or "").split())
    if len(message) > LAST_SEEN_WIDTH:
        message = message[:LAST_SEEN_WIDTH - 1] + "…"
    amount = progress_text(job) if with_progress else ""
    return ", ".join(p for p in (amount or (state_word(job) if with_progress else ""), message)
                     if p)


def outcome_text(watch: Watch, with_progress: bool = True) -> str:
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
            text += f": {shown(job.message)}"
        ended = watch.ended_at if watch.ended_at is not None else watch.started
        text += f" (watched {format_duration(ended - watch.started)})"
    elif outcome in ("timeout", "interrupted") and job is not None and job.terminal:
        text = f"{state_word(job)}; its downloads were interrupted"
    elif outcome in ("timeout", "interrupted"):
        text = (_unanswered(watch) if job is None else "still running") + (
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


@dataclass(frozen=True)
class Ending:
    """How one job ended, in the words every renderer uses."""

    label: str
    related: bool  # followed from the job above it (--follow-related)
    outcome: str  # the watch's outcome ("running" if it has none), which picks a colour
    said: str  # the outcome in words, with how far it got
    said_short: str  # the same beside a progress column: the progress is not said twice
    progress: str
    saved: SavedFiles | None


@dataclass(frozen=True)
class Closing:
    """Everything printed after the last update, in order."""

    code: int
    tally: str
    endings: tuple[Ending, ...]
    notes: tuple[str, ...]  # which jobs were left running, or why the watch stopped
    resume: tuple[str, ...]  # commands; a long one is a here-document over several lines
    errors: tuple[str, ...]  # 'jobwatch: error: ...' and 'hint: ...' lines


def closing(watches: list[Watch], code: int, resume: Resume = no_resume,
            resumable: bool = True, cwd: Path | None = None) -> Closing:
    endings = tuple(
        Ending(label=printable(watch.label), related=watch.parent is not None,
               outcome=watch.outcome or "running", said=outcome_text(watch),
               said_short=outcome_text(watch, with_progress=False),
               progress=progress_text(watch.job) if watch.job is not None else "",
               saved=saved_files(watch, cwd))
        for watch in watches)
    stopped = any(w.outcome in ("timeout", "interrupted") for w in watches)
    commands = (resume(watches) if resumable and (stopped or any(w.downloads_cut
                                                                 for w in watches)) else [])
    return Closing(code=code, tally=tally(watches), endings=endings,
                   notes=tuple(_notes(watches, code, resumable)), resume=tuple(commands),
                   errors=tuple(error_messages(watches)))


def _notes(watches: list[Watch], code: int, resumable: bool) -> list[str]:
    """Which jobs were left running. A job that had ended is never said to be running, even
    when its downloads were cut."""
    stopped = [w for w in watches if w.outcome in ("timeout", "interrupted")]
    timed_out = [w for w in stopped if w.outcome == "timeout" and not w.ended]
    unwatched = [w for w in stopped if w.outcome == "interrupted" and not w.ended]
    cut = [w for w in stopped if w.ended]  # it ended; its details or downloads were stopped
    notes = []
    if code == 130:
        notes.append(_interrupted_note(resumable, bool(timed_out or unwatched)))
    if timed_out:
        running = resumable and not any(w.job is None and w.waiting for w in timed_out)
        head = (f"timed out with {len(timed_out)} job(s) still running: " if running else
                f"timed out with {len(timed_out)} job(s) not ended: ")
        notes.append(head + named([f"{w.label} ({_brief(w) or _unanswered(w)})"
                                   for w in timed_out[:NAMED]], "; ", len(timed_out)))
    if code != 130 and (unwatched or cut):
        notes.append(_stopped_note(watches, unwatched, cut, resumable))
    return [printable(note) for note in notes]


def _interrupted_note(resumable: bool, running: bool) -> str:
    if not resumable:
        return "interrupted: the watch stopped"
    if running:
        return "interrupted: the remote jobs keep running; jobwatch only stopped watching"
    return "interrupted: downloads stopped; the jobs had ended"


def _stopped_note(watches: Sequence[Watch], unwatched: Sequence[Watch], cut: Sequence[Watch],
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


ERROR_CHARS = 1000  # an error line: ours, with a provider's words in it at most this long


def error_messages(watches: Sequence[Watch]) -> list[str]:
    """The `jobwatch: error:` lines (and hints) for jobs that ended in an error, a hint once."""
    seen: set[str] = set()
    lines = []
    for watch in watches:
        problems: list[tuple[str, str | None]] = (
            [(watch.error.message, watch.error.hint)] if watch.error is not None else [])
        problems += [(f"download failed: {failure}", None) for failure in watch.download_failures]
        for message, hint in problems:
            lines.append(shown(f"jobwatch: error: {watch.label}: {message}", ERROR_CHARS))
            if hint and hint not in seen:
                seen.add(hint)
                lines.append(printable(f"hint: {hint}"))
    return lines


def error_lines(watches: Sequence[Watch]) -> str:
    return "".join(line + "\n" for line in error_messages(watches))
