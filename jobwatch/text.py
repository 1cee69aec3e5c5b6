"""Text that crosses a trust boundary: control characters in and out.

Providers' words reach the terminal (a status message, an error list); a value from the config
reaches an HTTP header. Neither may carry escape sequences, carriage returns or bidi overrides.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the bidi overrides that can make text display as something else, and
# lone UTF-16 surrogates (which no encoder can write).
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def has_control(text: str) -> bool:
    return _UNPRINTABLE.search(text) is not None


def printable(text: str) -> str:
    """``text`` safe to show on a terminal or in a CI log: each control becomes a space."""
    if text.isprintable():  # no character of _UNPRINTABLE is (every line of a long wait)
        return text
    return _UNPRINTABLE.sub(" ", text)


def header_safe(text: str) -> bool:
    """Printable ASCII with no surrounding whitespace: what an HTTP header value may be."""
    return text.isascii() and not has_control(text) and text == text.strip()


SHOWN_CHARS = 400  # of one provider text (a message, a status word) where a person reads it


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """Provider text where a person reads it (a summary, a progress line, an error line):
    printable, and cut at ``limit`` characters with "…". A provider may send a message of
    megabytes; `--json` keeps it whole."""
    if len(text) <= limit:
        return printable(text)
    return printable(text[:limit - 1]) + "…"
