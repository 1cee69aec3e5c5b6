"""How a job is said, in the same words by `status`, the plain log and the live display:
its amounts, its state, outcomes and tallies, sizes and paths. Pure and cheap to import."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch.text import shown

if TYPE_CHECKING:
    from jobwatch.engine import Watch
    from jobwatch.models import Job

AMOUNT_LEVELS = 3  # the lengths progress_text can say a job's amount in
NAMED = 20  # jobs a line names one by one before "… and N more"


def named(names: Sequence[str], sep: str = ", ", total: int | None = None) -> str:
    """The first NAMED names, and how many more (of ``total``, when only the first are
    given): a line that lists the jobs of a 10,000-job watch stays a line (a resume command
    lists them all)."""
    left = (len(names) if total is None else total) - NAMED
    return sep.join([*names[:NAMED], *([f"… and {left} more"] if left > 0 else [])])


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
    return state if job.status.lower() == state else f"{state} ({shown(job.status, 60)})"


OUTCOME_WORDS = {"timeout": "timed out", "not_found": "not found", "auth": "refused",
                 "download_failed": "download failed"}


def outcome_word(outcome: str) -> str:
    """How a row or a tally says an outcome: "timed out", "not found", "succeeded"."""
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def tally(watches: Iterable[Watch]) -> str:
    """'2 succeeded, 1 failed, 3 running': outcomes, and how far the jobs without one got."""
    counts = Counter(outcome_word(w.outcome) if w.outcome is not None else
                     w.job.state.value if w.job is not None else "waiting" for w in watches)
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def human_size(n: float) -> str:
    """Binary units, as every renderer shows sizes and rates: '512 B', '1.5 MiB'."""
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def display_path(path: str | Path, cwd: Path | None = None) -> str:
    """``./claret-1/output`` for a path under the current directory, else the path as is."""
    path = Path(path)
    try:
        cwd = Path.cwd() if cwd is None else cwd
        relative = (path if path.is_absolute() else cwd / path).relative_to(cwd)
    except (OSError, ValueError):
        return str(path)
    text = relative.as_posix()
    return "." if text == "." else f"./{text}"
