"""The closing summary laid out for a terminal's width (jobwatch.closing says what it is): how
each job ended, where its files went, the notes, the commands that resume the watch, the error
lines. Pure: lines of (text, style) spans, widths in terminal cells, no terminal.

Nothing is cut inside a word, an id or a file name: long lines wrap between words, indented.
A path too long for a line loses folders from its middle ("/home/…/claret-1001/"), a file
name too long loses its middle, never its end. A resume command wraps between its words with
a shell's "\\" at each line end, so it still runs when pasted. The plain log (CI) keeps every
path whole instead: it is read in a wide viewer or searched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, chop_cells

from jobwatch.closing import Closing, Ending

Span = tuple[str, str]  # text, rich style ("" for none)
Line = list[Span]

OUTCOME_STYLES = {"succeeded": "green", "failed": "red", "timeout": "yellow",
                  "interrupted": "yellow"}  # the user's own stop is no error; the rest is red
INDENT = 2  # a wrapped line's continuation
GAP = 2  # between the summary's columns
MIN_OUTCOME = 16  # the narrowest outcome column worth aligning
SHORT_OUTCOME = 32  # an outcome this short ("succeeded (watched 5s)") stays on one line


def outcome_style(outcome: str) -> str:
    return OUTCOME_STYLES.get(outcome, "red")


@dataclass(frozen=True)
class Piece:
    """A stretch of text that a wrap keeps on one line. ``gap``: the spaces before it when it
    follows another piece; ``whole``: never cut, even when longer than a line (an id, a
    command's word), else cut in line-long chunks (a provider's 90-letter word)."""

    text: str
    style: str = ""
    gap: int = 1
    whole: bool = False


def words(text: str, style: str = "", gap: int = 1) -> list[Piece]:
    """``text`` as pieces between its spaces, "(watched 5s)" as one; ``gap`` before the first."""
    tokens = text.split()
    glued: list[str] = []
    for token in tokens:
        if glued and glued[-1] == "(watched":
            glued[-1] += " " + token
        else:
            glued.append(token)
    return [Piece(token, style, gap if i == 0 else 1) for i, token in enumerate(glued)]


def wrap(pieces: Iterable[Piece], width: int, indent: int = INDENT) -> list[Line]:
    lines: list[Line] = []
    line: Line = []
    used = 0
    for piece in pieces:
        chunks = [piece.text]
        if not piece.whole and cell_len(piece.text) > width - indent:
            chunks = chop_cells(piece.text, max(1, width - indent))
        for i, chunk in enumerate(chunks):
            gap = piece.gap if i == 0 else 0
            size = cell_len(chunk)
            if line and used + gap + size > width:
                lines.append(line)
                line, used, gap = [(" " * indent, "")], indent, 0
            if line and gap:
                line.append((" " * gap, ""))
                used += gap
            line.append((chunk, piece.style))
            used += size
    if line:
        lines.append(line)
    return lines


def closing_lines(end: Closing, width: int) -> list[Line]:
    lines: list[Line] = [[]] if end.endings else []
    lines += summary(end.endings, width)
    for ending in end.endings:
        lines += saved_lines(ending, width)
    for note in end.notes:
        lines += wrap(words(note), width)
    for command in end.resume:
        lines += [[(text, "")] for text in command_lines("resume with: ", command, width)]
    for error in end.errors:
        lines += wrap(words(error), width)
    return lines


def summary(endings: Sequence[Ending], width: int) -> list[Line]:
    """A row per job: label, outcome, progress. Aligned in columns when every label and
    progress fits beside an outcome column that keeps the short outcomes on one line (a long
    one wraps inside its column); else each job's words flow over lines of their own. Ids stay
    whole: people copy them."""
    if not endings:
        return []
    labels = [("↳ " if e.related else "") + e.label for e in endings]
    label_width = max(cell_len(text) for text in labels)
    progress_width = max(cell_len(e.progress) for e in endings)
    if progress_width:
        progress_width = max(progress_width, len("progress"))  # its heading
    outcome_width = max(cell_len(e.said_short) for e in endings)
    room = width - label_width - GAP - (GAP + progress_width if progress_width else 0)
    short = [cell_len(e.said_short) for e in endings if cell_len(e.said_short) <= SHORT_OUTCOME]
    pieces = [p for e in endings for p in words(e.said_short)]
    need = max([MIN_OUTCOME, *short, *(cell_len(p.text) for p in pieces)])
    if room < min(need, outcome_width):
        return [line for text, e in zip(labels, endings) for line in _flowing(text, e, width)]
    column = min(room, outcome_width)
    lines: list[Line] = [_row("job", label_width, [[("outcome", "bold")]], column,
                              "progress" if progress_width else "", "bold")]
    for text, ending in zip(labels, endings):
        outcome = wrap(words(ending.said_short, outcome_style(ending.outcome), 0), column, 0)
        lines.append(_row(text, label_width, outcome[:1], column, ending.progress))
        lines += [[(" " * (label_width + GAP), ""), *rest] for rest in outcome[1:]]
    return lines


def _row(label: str, label_width: int, outcome: list[Line], column: int, progress: str,
         style: str = "") -> Line:
    spans = outcome[0] if outcome else []
    line: Line = [(label, style), (" " * (label_width - cell_len(label) + GAP), ""), *spans]
    if progress:
        pad = column - sum(cell_len(text) for text, _ in spans) + GAP
        line += [(" " * pad, ""), (progress, style)]
    return line


def _flowing(label: str, ending: Ending, width: int) -> list[Line]:
    pieces = [Piece(label, whole=True, gap=0), *words(ending.said_short,
                                                         outcome_style(ending.outcome), GAP)]
    if ending.progress:  # as one piece: "8/8" / "steps (100%)" would read as two things
        pieces.append(Piece(ending.progress, gap=GAP))
    return wrap(pieces, width)


def saved_lines(ending: Ending, width: int) -> list[Line]:
    """'claret 1001: saved 4 files in ./claret-1001/ (input/a.csv, …)', wrapped between the
    names; each path shortened only when it is longer than a whole line."""
    saved = ending.saved
    if saved is None:
        return []
    room = width - INDENT
    pieces = [Piece(f"{ending.label}:", gap=0, whole=True), *words(saved.head),
              Piece(shorten_path(saved.folder + "/", room), whole=True)]
    names = [shorten_path(name, room - 2) for name in saved.names]
    texts = [f"{name}," for name in names[:-1]] + [f"{names[-1]}{',' if saved.more else ')'}"]
    texts[0] = "(" + texts[0]
    pieces += [Piece(text, whole=True) for text in texts]
    if saved.more:
        pieces.append(Piece(f"… and {saved.more} more)", whole=True))
    return wrap(pieces, width)


def shorten_path(path: str, width: int) -> str:
    """``path`` in ``width`` cells: folders from its middle give way to "…", its first part
    and its file name stay; a file name alone too long loses its middle, keeping its end."""
    if cell_len(path) <= width:
        return path
    trail = "/" if path.endswith("/") and len(path) > 1 else ""
    parts = path[:len(path) - len(trail)].split("/")
    for keep in range(len(parts) - 2, 0, -1):
        candidate = "/".join([parts[0], "…", *parts[-keep:]]) + trail
        if cell_len(candidate) <= width:
            return candidate
    if len(parts) > 1 and cell_len(f"…/{parts[-1]}{trail}") <= width:
        return f"…/{parts[-1]}{trail}"
    return _middle(parts[-1] + trail, width)


def _middle(name: str, width: int) -> str:
    """'inventory_2026…untouched.csv': the start and the end of a name, "…" between."""
    if cell_len(name) <= width:
        return name
    keep = max(1, width - 1)
    head, tail = name[:keep // 2], name[len(name) - (keep - keep // 2):]
    while cell_len(head) + 1 + cell_len(tail) > width and len(head) + len(tail) > 1:
        if len(head) >= len(tail):  # wide characters: give back from the longer side
            head = head[:-1]
        else:
            tail = tail[1:]
    return f"{head}…{tail}"


def command_lines(prefix: str, command: str, width: int) -> list[str]:
    """``prefix`` and a shell command, wrapped between its words with "\\" line ends (a shell
    joins them again), an option beside its value where they fit; a word longer than a line
    stays whole. A here-document's lines follow as they are."""
    first, *rest = command.split("\n")
    if cell_len(prefix + first) <= width:
        return [prefix + first, *rest]
    head, *tail = _units(shell_words(first) or [""], width - INDENT)
    lines: list[str] = []
    line = prefix + head
    for i, word in enumerate(tail):
        more = 0 if i == len(tail) - 1 else 2  # room for " \\" if it does not end here
        if cell_len(line) + 1 + cell_len(word) + more > width:
            lines.append(line + " \\")
            line = " " * INDENT + word
        else:
            line += " " + word
    lines.append(line)
    return lines + rest


def _units(words: list[str], width: int) -> list[str]:
    """The words, an option and its value joined ("--timeout 1m") when that fits ``width``
    (with room for a "\\" after it, unless it ends the command)."""
    units: list[str] = []
    for i, word in enumerate(words):
        option = units[-1] if units else ""
        room = width - (0 if i == len(words) - 1 else 2)
        if (option.startswith("-") and " " not in option and "=" not in option
                and not word.startswith("-") and cell_len(f"{option} {word}") <= room):
            units[-1] = f"{option} {word}"
        else:
            units.append(word)
    return units


def shell_words(line: str) -> list[str]:
    """A command line split at its unquoted spaces, each word with its quotes as written."""
    found: list[str] = []
    word, quote, escaped = "", "", False
    for char in line:
        if escaped:
            word, escaped = word + char, False
        elif char == "\\" and quote != "'":
            word, escaped = word + char, True
        elif quote:
            word += char
            quote = "" if char == quote else quote
        elif char in "'\"":
            word, quote = word + char, char
        elif char.isspace():
            if word:
                found.append(word)
            word = ""
        else:
            word += char
    if word:
        found.append(word)
    return found
