"""Enough of a terminal to replay what the live display writes and read the screen a person
would see: printable text with deferred auto-wrap, CR, LF, BS, CSI cursor moves and erases;
SGR and private modes are ignored; a character is one cell.

Rows scrolled off the top are kept (``text()`` returns them first). A resize either cuts the
rows (xterm, pyte) or, with ``reflow=True``, re-wraps them as tmux does: rows the terminal
wrapped are joined again and cut at the new width, the last row with anything on it stays
where it was, and what no longer fits above goes to the scrollback (the cursor, if its row
went there too, waits at the top).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Row:
    cells: list[str]
    wrapped: bool = False  # the terminal wrapped it: the next row goes on with it

    def text(self) -> str:
        return "".join(self.cells).rstrip()


@dataclass
class Screen:
    rows: int
    columns: int
    reflow: bool = False
    grid: list[Row] = field(default_factory=list)  # scrollback, then the screen's rows
    row: int = 0  # the cursor, on the screen
    col: int = 0
    pending_wrap: bool = False

    CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z@])")

    def __post_init__(self) -> None:
        self.grid = [self._blank() for _ in range(self.rows)]

    def _blank(self) -> Row:
        return Row([" "] * self.columns)

    @property
    def top(self) -> int:
        return len(self.grid) - self.rows

    def line(self, y: int) -> Row:
        return self.grid[self.top + y]

    def feed(self, text: str) -> Screen:
        i = 0
        while i < len(text):
            char = text[i]
            if char == "\x1b":
                match = self.CSI.match(text, i)
                if match:
                    self._csi(match.group(1), match.group(2))
                    i = match.end()
                    continue
                end = text.find("\x07", i)  # OSC ... BEL (window titles, links)
                i = end + 1 if text.startswith("\x1b]", i) and end != -1 else i + 2
                continue
            if char == "\r":
                self.col, self.pending_wrap = 0, False
            elif char == "\n":
                self._line_feed()
            elif char == "\b":
                self.col, self.pending_wrap = max(0, self.col - 1), False
            elif char >= " ":
                self._put(char)
            i += 1
        return self

    def _put(self, char: str) -> None:
        if self.pending_wrap:
            self.line(self.row).wrapped = True
            self.col = 0
            self._line_feed()
        self.line(self.row).cells[self.col] = char
        if self.col == self.columns - 1:
            self.pending_wrap = True
        else:
            self.col += 1

    def _line_feed(self) -> None:
        self.pending_wrap = False
        if self.row == self.rows - 1:
            self.grid.append(self._blank())
        else:
            self.row += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return
        numbers = [int(p) if p else 0 for p in params.split(";")] if params else []
        n = numbers[0] if numbers else 0
        self.pending_wrap = False
        if final == "A":
            self.row = max(0, self.row - max(1, n))
        elif final == "B":
            self.row = min(self.rows - 1, self.row + max(1, n))
        elif final == "C":
            self.col = min(self.columns - 1, self.col + max(1, n))
        elif final == "D":
            self.col = max(0, self.col - max(1, n))
        elif final == "G":
            self.col = min(self.columns - 1, max(1, n) - 1)
        elif final == "K":
            start, end = {0: (self.col, self.columns), 1: (0, self.col + 1),
                          2: (0, self.columns)}[n]
            line = self.line(self.row)
            line.cells[start:end] = [" "] * (end - start)
            line.wrapped = line.wrapped and n == 1
        elif final == "J":
            rows = {0: range(self.row + 1, self.rows), 1: range(0, self.row),
                    2: range(self.rows), 3: range(self.rows)}[n]
            for y in rows:
                self.grid[self.top + y] = self._blank()
            if n in (0, 1):
                self._csi("0" if n == 0 else "1", "K")

    def resize(self, rows: int, columns: int) -> Screen:
        if not self.reflow:
            for line in self.grid:
                line.cells = (line.cells + [" "] * columns)[:columns]
                line.wrapped = False
            return self._resized(rows, columns, self.top + self.row)
        # Logical lines: rows the terminal wrapped, joined; where the cursor is in them.
        last = max([self.top + self.row] + [i for i, line in enumerate(self.grid)
                                            if line.text()])
        below = len(self.grid) - 1 - last  # empty rows under the content stay as they are
        logical: list[str] = []
        cursor = (0, 0)
        joined = ""
        for i, line in enumerate(self.grid[:last + 1]):
            if i == self.top + self.row:
                cursor = (len(logical), len(joined) + self.col)
            joined += "".join(line.cells) if line.wrapped else line.text()
            if not line.wrapped:
                logical.append(joined)
                joined = ""
        if joined:
            logical.append(joined)
        grid: list[Row] = []
        at = col = 0
        for index, text in enumerate(logical):
            pieces = [text[i:i + columns] for i in range(0, len(text), columns)] or [""]
            if index == cursor[0]:
                piece = min(cursor[1] // columns, len(pieces) - 1)
                at, col = len(grid) + piece, cursor[1] - piece * columns
            for k, piece_text in enumerate(pieces):
                grid.append(Row(list(piece_text.ljust(columns)), wrapped=k < len(pieces) - 1))
        grid += [Row([" "] * columns) for _ in range(below)]
        self.grid = grid
        return self._resized(rows, columns, at, col)

    def _resized(self, rows: int, columns: int, at: int, col: int | None = None) -> Screen:
        self.rows, self.columns = rows, columns
        while len(self.grid) < rows:
            self.grid.append(self._blank())
        self.row = max(0, at - self.top)  # a cursor in the scrollback waits at the top
        self.col = min(columns - 1, self.col if col is None else col)
        self.pending_wrap = False
        return self

    def text(self) -> list[str]:
        """The scrollback, then the screen, a string per row."""
        return [line.text() for line in self.grid]

    def wrapped(self) -> list[str]:
        """The rows the terminal had to wrap: a line longer than the screen was wide."""
        return [line.text() for line in self.grid if line.wrapped]
