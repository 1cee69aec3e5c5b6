"""The live display `wait` and `download` draw on a terminal.

    rows.py      a job's row as data (Row), and what rows remember between frames (the ETA)
    layout.py    which rows fit, how wide each column is, what gives way on a narrow terminal
    summary.py   the closing summary laid out for a terminal width
    pacing.py    when to redraw, on the injected clock
    paint.py     rows and summary lines as rich Text
    region.py    the redrawn region of the terminal, safe across a resize
    renderer.py  LiveRenderer: the Renderer the engine reports to

rows, layout, summary and pacing are pure: no terminal, no rich.Live; they are tested alone.
Only a terminal run imports this package (rich.live, rich.progress are heavy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobwatch.live.renderer import LiveRenderer

__all__ = ["LiveRenderer"]


def __getattr__(name: str) -> object:
    # `from jobwatch.live import LiveRenderer` without importing rich for the pure modules.
    if name == "LiveRenderer":
        from jobwatch.live.renderer import LiveRenderer

        return LiveRenderer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
