"""Durations as users type them: ``90``, ``90s``, ``5m``, ``1h30m``, ``0.5``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([hms]?)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str | float | int) -> float:
    """Seconds from a duration; raises ValueError with a readable message on a bad form."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text}")
        return float(text)
    value = text.strip().lower()
    pos, total, units = 0, 0.0, []
    while pos < len(value):
        match = _PART.match(value, pos)
        if not match:
            break
        number, unit = match.groups()
        if unit == "" and match.end() != len(value):
            break
        units.append(unit)
        total += float(number) * _UNIT[unit]
        pos = match.end()
    if not value or pos != len(value) or len(set(units)) != len(units):
        raise ValueError(f"not a duration: {text!r} (use forms like 90, 90s, 5m, 1h30m, 0.5)")
    return total


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
