"""Rows, bars and summary lines as rich Text, in the widths layout.py chose.

Text from providers and users (ids, messages, file names, paths) reaches rich only as Text
objects, never as a str rich would read as markup ("[/x]") or emoji codes (":fire:")."""

from __future__ import annotations

from rich.progress import ProgressColumn, Task
from rich.text import Text

from jobwatch.live.layout import Columns, label
from jobwatch.live.rows import Row
from jobwatch.live.summary import Line, outcome_style
from jobwatch.text import printable
from jobwatch.words import human_size

STATE_STYLES = {"succeeded": "bold green", "failed": "bold red", "canceled": "yellow",
                "running": "cyan", "pending": "blue", "unknown": "magenta", "waiting": "dim"}
MARKS = {"succeeded": ("✓", "green"), "failed": ("✗", "red"), "timeout": ("…", "yellow"),
         "interrupted": ("■", "yellow")}


def row_text(row: Row, columns: Columns, width: int, mark: Text, now: float,
             colour: bool = True) -> Text:
    """One job's row, at most ``width`` cells."""
    plan = columns.plan
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append_text(mark)
    line.append(" ")
    line.append_text(fit(label(row, plan.short_labels, columns.label), columns.label, "bold"))
    line.append(" ")
    style = STATE_STYLES.get(row.tone, "magenta") if row.running else outcome_style(row.tone)
    line.append_text(fit(row.word, columns.word, style))
    line.append(" ")
    if columns.bar:
        line.append_text(bar(row.progress, columns.bar, now, row.running, colour))
        line.append(" ")
    if columns.amount:
        line.append_text(fit(row.amounts[plan.level], columns.amount))
        line.append(" ")
    line.append_text(fit(row.timing(plan.eta), columns.timing, "dim"))
    if columns.message > 0 and row.message:
        line.append(" ")
        line.append_text(fit(row.message, columns.message, "yellow" if row.noted else "",
                             pad=False))
    line.truncate(width, overflow="ellipsis")
    return line


def ended_mark(outcome: str | None) -> Text:
    glyph, style = MARKS.get(outcome or "", ("!", "red"))
    return Text(glyph, style=style)


def fit(text: str, width: int, style: str = "", pad: bool = True) -> Text:
    cell = Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")
    cell.truncate(width, overflow="ellipsis", pad=pad)
    return cell


def bar(progress: float | None, width: int, now: float, running: bool,
        colour: bool = True) -> Text:
    """A bar as text: cheaper than rich's ProgressBar in a table, and exactly `width` wide.
    Without colour (NO_COLOR, TERM=dumb) the part still to go is drawn thin, ─, since only
    its colour told it from the done part."""
    back = "━" if colour else "─"
    drawn = Text(no_wrap=True, end="")
    if progress is None:
        if not running:
            drawn.append(back * width, style="bar.back")
            return drawn
        # Unknown progress: a short bright stretch sweeping along the bar.
        head = int(now * 15) % (width + 6) - 3
        for i in range(width):
            pulse = 0 <= i - head < 4
            drawn.append("━" if pulse else back, style="bar.pulse" if pulse else "bar.back")
        return drawn
    filled = max(0.0, min(1.0, progress)) * width
    full = int(filled)
    style = "bar.finished" if progress >= 1 else "bar.complete"
    drawn.append("━" * full, style=style)
    if full < width:
        half = filled - full >= 0.5
        drawn.append("╸" if half else back, style=style if half else "bar.back")
        drawn.append(back * (width - full - 1), style="bar.back")
    return drawn


def line_text(line: Line) -> Text:
    """A summary line, laid out already: rich must not wrap it again."""
    return Text.assemble(*line, no_wrap=True, end="")


class FileName(ProgressColumn):
    """'  ↓ name': the file's name as Text, never read as markup or emoji codes."""

    def render(self, task: Task) -> Text:
        return Text.assemble(("  ↓ ", "dim"), printable(task.description))


class BinaryRate(ProgressColumn):
    """'1.2 MiB/s': rich's own rate column counts in decimal megabytes."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("?" if speed is None else f"{human_size(speed)}/s",
                    style="progress.data.speed")
