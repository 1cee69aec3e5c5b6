"""Durations as users type them: ``90``, ``90s``, ``5m``, ``1h30m``, ``0.5``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([hms]?)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str | float | int) -> float:
    """Seconds from a duration; raises ValueError with a readable message on a bad form.

    A bare number is seconds and stands alone; with units, each of h, m, s at most once and in
    that order (`1h30m`, not `30m1h`; `5m30` is refused rather than guessed at)."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text}")
        return float(text)
    value = text.strip().lower()
    pos, total = 0, 0.0
    units: list[str] = []
    while pos < len(value):
        match = _PART.match(value, pos)
        if not match:
            break
        number, unit = match.groups()
        if unit == "" and (units or match.end() != len(value)):
            break
        units.append(unit)
        total += float(number) * _UNIT[unit]
        pos = match.end()
    in_order = units == sorted(units, key="hms".index)
    if not value or pos != len(value) or len(set(units)) != len(units) or not in_order:
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
