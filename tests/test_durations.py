"""Durations as users type them (`--timeout`, `--interval`, config values)."""

from __future__ import annotations

import pytest

from jobwatch.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("0.5", 0.5),
    ("1h", 3600.0), ("1h1m1s", 3661.0), ("1.5m", 90.0), (".5", 0.5), (" 5M ", 300.0),
    ("0", 0.0), (30, 30.0), (0.25, 0.25),
])
def test_the_forms_of_the_issue_and_their_relatives(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", " ", "10 minutes", "fast", "5x", "-1", "1e3", "1.2.3", "m", "5m5m",
    "1h1s1m",  # units out of order: a typo more likely than a meaning
    "5m30",  # a bare number after a unit: 5m30s or 5.30 minutes? refused, not guessed
    "30m1h", -1, True,
])
def test_bad_forms_are_refused_with_the_forms_that_work(text: str | float) -> None:
    with pytest.raises(ValueError, match=r"duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 0.4, 59.6, 61, 3600, 5400)] == [
        "0s", "0s", "1m00s", "1m01s", "1h00m", "1h30m"]
