"""jobwatch.fastpath reads `status` exactly as Click does, or declines: a differential test.

Thousands of generated argument lists go to both the real Click command tree and the fast
path. Where Click refuses an argument list, or reads another command, the fast path must
decline; where Click reads a `status`, the fast path must decline or read the very same
jobs, options and global options."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from jobwatch import fastpath
from tests.clickread import click_context

ROOT_WORDS = [[], ["-v"], ["-p", "a"], ["-pa"], ["--profile=b"], ["--profile", "b"],
              ["--config", "c.toml"], ["--config=c.toml"], ["-vp", "x"], ["-pv"], ["-vpq"],
              ["-h"], ["--help"], ["--version"], ["-V"], ["--"], ["-q"], ["--bogus"],
              ["--verbose"], ["--config"], ["-p"], ["--json"], ["-v", "-v"], ["--show-completion"]]
COMMAND_WORDS = ["status", "wait", "stat", "", "STATUS", "config", "--", "-"]
BODY_WORDS = ["claret", "1", "claret:1", "merchantops", "a:b", "-", "--", "--json", "--json=1",
              "-q", "--quiet", "-qv", "-vq", "-p", "staging", "-pstaging", "-p=x", "--profile",
              "--profile=dev", "--profile=", "--config", "c.toml", "--config=", "-v",
              "--verbose", "-vp", "-qvp", "-h", "--help", "-x", "--bogus", "--timeout", "5m",
              "-q-v", "--quiet=no", "-V", "--js", "-pq", "--p", "-vpq", "-", "", " ", "-5",
              "--json", "-qq", "-=", "-v=1", "--verbose=1", "claret@x:2", "status"]


def corpus() -> list[list[str]]:
    """At least a few thousand argument lists: every root form with every command word and
    short bodies, then random longer ones (a fixed seed: the same corpus every run)."""
    lists = [[*root, command, *body]
             for root in ROOT_WORDS for command in COMMAND_WORDS
             for body in ([], ["claret", "1"], ["claret", "1", "-p", "s"], ["-q", "claret:1"])]
    rng = random.Random(20261206)
    for _ in range(4000):
        body = [rng.choice(BODY_WORDS) for _ in range(rng.randint(0, 7))]
        lists.append([*rng.choice(ROOT_WORDS), rng.choice(COMMAND_WORDS[:2] * 4
                                                          + COMMAND_WORDS), *body])
    lists += [["status", *pair] for pair in itertools.product(BODY_WORDS, repeat=2)]
    return lists


def click_reads(argv: list[str]) -> tuple[Any, ...]:
    """What Click makes of ``argv``: ("refused",), ("other", name), or the `status` call."""
    read = click_context(argv, "status")
    if read[0] != "read":
        return read
    _, sub, chosen = read
    return ("status", list(sub.params["jobs"]), bool(sub.params["json_output"]),
            bool(sub.params["quiet"]), chosen["config"], chosen["profile"],
            bool(chosen["verbose"]))


def fast_reads(argv: list[str]) -> tuple[Any, ...] | None:
    call = fastpath.parse(list(argv))
    if call is None:
        return None
    return ("status", call.jobs, call.json_output, call.quiet, call.config, call.profile,
            call.verbose)


@pytest.mark.slow
def test_the_fast_path_reads_as_click_does_or_declines() -> None:
    cases = corpus()
    assert len(cases) >= 1000
    read = declined = 0
    for argv in cases:
        expected = click_reads(argv)
        got = fast_reads(argv)
        if got is None:
            declined += 1
            continue
        read += 1
        assert got == expected, (argv, got, expected)
    # Not a fast path that declines everything: the plain forms are read here.
    assert read >= 500, (read, declined)


@pytest.mark.parametrize("argv", [
    ["status", "claret", "1"],
    ["status", "claret", "1", "-qvpstaging"],
    ["-v", "--config=c.toml", "status", "--json", "claret:1", "merchantops@x:a:b"],
    ["status", "merchantops", "--", "-q", "--json"],
    ["status", "-p", "-v", "claret", "1"],  # -v is the profile's value, as for Click
    ["status", "claret", "-"],
])
def test_plain_forms_are_read_here(argv: list[str]) -> None:
    assert fast_reads(argv) is not None
    assert fast_reads(argv) == click_reads(argv)


@pytest.mark.parametrize("argv", [
    ["status", "claret", "1", "--help"], ["--help"], ["--version", "status", "claret", "1"],
    ["status"], ["status", "claret", "1", "-p"], ["status", "claret", "1", "--json=1"],
    ["wait", "claret", "1"], ["status", "claret", "1", "--bogus"], ["-q", "status", "1"],
    ["--", "status", "claret", "1"],
])
def test_everything_else_is_left_to_click(argv: list[str]) -> None:
    assert fast_reads(argv) is None


def test_completion_requests_are_left_to_click(monkeypatch) -> None:
    monkeypatch.setenv(fastpath.COMPLETE_VAR, "complete_bash")
    assert fastpath.run(["status", "claret", "1"], set()) is None
