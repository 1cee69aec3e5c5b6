"""The rows of the terminal the live display redraws in place, found again after a resize.

rich's Live goes back to the top of its last frame by moving the cursor up one row per line
it drew. When the terminal gets narrower, most terminals re-wrap (reflow) their lines: a row
drawn 77 cells wide on 80 columns takes two rows on 60, so the frame's top is further up than
its line count, and those top rows stayed on the screen for good, above the summary. So the
frame remembers how wide its lines were, and the way back up counts (and erases) the rows
they take at the terminal's width now.

Terminals that cut lines instead of re-wrapping them (xterm, urxvt, st, the Linux console)
keep one row per line: moving further up there would erase what was printed above.

One case stays out of reach: when the reflow pushes the frame's top above the first row of
the screen (the frame began near the top and the terminal narrowed to under half its
lines' width), the terminal moves those rows into its scrollback, where no cursor goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.control import Control
from rich.live import Live
from rich.live_render import LiveRender
from rich.segment import ControlType, Segment


def terminal_reflows(env: Mapping[str, str]) -> bool:
    """Whether the terminal re-wraps its lines when it narrows. VTE (GNOME), iTerm2,
    Terminal.app, kitty, Alacritty, WezTerm, Windows Terminal, Konsole and tmux do."""
    if env.get("TMUX"):
        return True  # tmux re-wraps its panes, whatever terminal shows them
    term = env.get("TERM", "")
    cuts = bool(env.get("XTERM_VERSION")) or term in ("linux", "st") or term.startswith(
        ("rxvt", "st-"))
    return not cuts


_UP_AND_ERASE = ((ControlType.CURSOR_UP, 1), (ControlType.ERASE_IN_LINE, 2))


class ReflowRender(LiveRender):
    """rich's LiveRender, counting the rows its last frame takes at the terminal's width now."""

    def __init__(self, renderable: RenderableType, console: Console, reflows: bool) -> None:
        super().__init__(renderable)
        self.console = console
        self.reflows = reflows
        self.widths: list[int] = []  # of the last frame's lines, in cells

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = [0]
        for segment in super().__rich_console__(console, options):
            if isinstance(segment, Segment) and not segment.control:
                if segment.text == "\n":
                    widths.append(0)
                else:
                    widths[-1] += segment.cell_length
            yield segment
        self.widths = widths

    def rows(self) -> int:
        """The terminal rows the last frame takes now (0: nothing drawn yet)."""
        height = self.last_render_height
        if not height:
            return 0
        if not self.reflows:
            return height
        width = max(1, self.console.width)
        return max(height, sum(max(1, -(-cells // width)) for cells in self.widths))

    def position_cursor(self) -> Control:
        """Before a redraw, or output printed above the rows: the last frame erased, row by
        row upwards (not with CSI J: tmux copies a screen erased from its top into its
        history first, and every frame would stay there)."""
        rows = self.rows()
        if not rows:
            return Control()
        return Control(ControlType.CARRIAGE_RETURN, (ControlType.ERASE_IN_LINE, 2),
                       *(_UP_AND_ERASE * (rows - 1)))

    def restore_cursor(self) -> Control:
        """At the end, after Live has moved to the line below: the last frame erased."""
        rows = self.rows()
        if not rows:
            return Control()
        return Control(ControlType.CARRIAGE_RETURN, *(_UP_AND_ERASE * rows))


def live_region(console: Console, frame: Callable[[], RenderableType],
                reflows: bool) -> Live:
    """A Live that redraws ``frame()`` only when asked, and takes it away at the end
    (transient: the summary follows instead of the last frame)."""
    live = Live(get_renderable=frame, console=console, auto_refresh=False, transient=True,
                redirect_stdout=False, redirect_stderr=False)
    # Live keeps its LiveRender in this attribute (rich 13 to 15); ours counts reflowed rows.
    live._live_render = ReflowRender(live.get_renderable(), console, reflows)
    return live
