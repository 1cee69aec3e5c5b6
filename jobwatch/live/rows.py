"""A job's row as data: every cell said in text, nothing drawn yet. RowBook keeps what a row
needs from earlier frames: when progress was first seen and last moved (the ETA), the latest
problem note, when the job last changed (a recent end keeps its row). Pure: no rich."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobwatch.text import printable, shown
from jobwatch.words import AMOUNT_LEVELS, outcome_word, progress_text

if TYPE_CHECKING:
    from jobwatch.engine import Watch

Seen = tuple[float, float]  # (time on the clock, progress fraction)


@dataclass(frozen=True)
class Row:
    provider: str
    job_id: str  # as shown: printable, a UUID shortened
    related: bool  # followed from the row above (--follow-related): drawn with "↳ "
    word: str  # the state while it runs ("running", the provider's own word), then the outcome
    tone: str  # what colours the word: the state, the outcome, or "waiting"
    running: bool
    outcome: str | None
    progress: float | None
    amounts: tuple[str, ...]  # the amount said at each level, roomiest first
    elapsed: str
    eta: str  # "eta 40s", or ""
    message: str  # the current step, or a problem note
    noted: bool  # the message is a note on a problem (drawn in yellow)

    def timing(self, with_eta: bool = True) -> str:
        return f"{self.elapsed} {self.eta}" if with_eta and self.eta else self.elapsed


def short_id(job_id: str) -> str:
    """UUIDs shortened like git's short hashes; the summary shows them whole."""
    return job_id[:8] + "…" if len(job_id) == 36 and job_id.count("-") == 4 else job_id


def eta_seconds(first: Seen | None, last: Seen | None, now: float) -> float | None:
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


class RowBook:
    """What the rows remember between frames, per watch (by identity: the engine's watches
    live as long as the display)."""

    def __init__(self) -> None:
        self._first_seen: dict[int, Seen] = {}
        self._last_seen: dict[int, Seen] = {}
        self._notes: dict[int, str] = {}
        self._changed_at: dict[int, float] = {}

    def updated(self, watch: Watch, now: float) -> None:
        """A new answer: a problem note on the row is over, and progress may have moved."""
        job = watch.job
        if job is not None and job.progress is not None:
            point = (now, job.progress)
            self._first_seen.setdefault(id(watch), point)
            last = self._last_seen.get(id(watch))
            if last is None or last[1] != job.progress:  # when it last *moved*
                self._last_seen[id(watch)] = point
        self._notes.pop(id(watch), None)
        self.changed(watch, now)

    def noted(self, watch: Watch, text: str, now: float) -> None:
        self._notes[id(watch)] = text
        self.changed(watch, now)

    def changed(self, watch: Watch, now: float) -> None:
        self._changed_at[id(watch)] = now

    def changed_at(self, watch: Watch) -> float:
        return self._changed_at.get(id(watch), 0.0)

    def row(self, watch: Watch, now: float) -> Row:
        from jobwatch.durations import format_duration

        job = watch.job
        end = watch.ended_at if watch.ended_at is not None else now
        eta = None
        if not watch.done and job is not None:
            eta = eta_seconds(self._first_seen.get(id(watch)), self._last_seen.get(id(watch)),
                              now)
        if watch.outcome is not None:
            word, tone = outcome_word(watch.outcome), watch.outcome
        elif job is not None:
            # The provider's own word only where it maps to nothing (SPEC: shown as written).
            tone = job.state.value
            word = printable(job.status) if tone == "unknown" else tone
        else:
            word, tone = "waiting", "waiting"
        progress = job.progress if job is not None else None
        if watch.outcome == "succeeded" and progress is None:
            progress = 1.0
        note = self._notes.get(id(watch))
        message = (note or (watch.error.message if watch.error else None) or watch.last_problem
                   or (job.message if job else "") or "")
        return Row(
            provider=printable(watch.provider), job_id=printable(short_id(watch.job_id)),
            related=watch.parent is not None, word=word, tone=tone, running=not watch.done,
            outcome=watch.outcome, progress=progress,
            amounts=tuple(progress_text(job, level) if job is not None else ""
                          for level in range(AMOUNT_LEVELS)),
            elapsed=format_duration(end - watch.started),
            eta=f"eta {format_duration(eta)}" if eta is not None else "",
            message=" ".join(shown(message).split()),
            noted=bool(note or watch.last_problem))
