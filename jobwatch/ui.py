"""Everything a person reads: the status summary, and the renderers `wait` reports through.

The status path stays cheap: plain ANSI codes, no rich. The live display imports rich lazily.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

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
    """Write data to stdout; a reader that went away (`| head -1`) ends the output quietly."""
    stream = stream or sys.stdout
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        silence_stdout()


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
    return state if job.status.lower() == state else f"{state} ({job.status})"


def status_summary(job: Job, color: bool) -> str:
    label = paint(f"{job.provider} {job.job_id}", "1", color)
    state = paint(state_word(job), STATE_COLORS.get(job.state.value, "0"), color)
    rows = [("progress", progress_text(job)), ("message", job.message or ""),
            ("type", job.job_type or ""), ("created", job.created_at or ""),
            ("started", job.started_at or ""), ("finished", job.finished_at or ""),
            ("url", job.url or "")]
    if job.artifacts:
        rows.append(("artifacts", ", ".join(sorted({a.category for a in job.artifacts}))))
    lines = [f"{label}  {state}"]
    lines += [f"  {paint(name + ':', '2', color):<{11 + (8 if color else 0)}} {value}"
              for name, value in rows if value]
    return "\n".join(lines) + "\n"


def job_json(job: Job, **extra: Any) -> str:
    return json.dumps({**job.to_json_dict(), **extra}, ensure_ascii=False)
