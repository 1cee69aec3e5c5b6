"""jobwatch.fastpath reads `wait` exactly as Click does, or declines: a differential test, as
tests/test_fastpath.py is for `status`. Where Click reads a `wait`, the fast path must decline
or read the very same jobs, options, global options and the options a resume command repeats
(jobwatch.resume reads those from Click's context)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from jobwatch import fastpath
from jobwatch.resume import given_options
from tests.clickread import click_context

OPTIONS = ("timeout", "interval", "fail_fast", "strict", "download_dir", "no_download",
           "artifacts", "follow_related", "not_found_grace", "on_end", "json_output", "events",
           "quiet")
ROOT_WORDS = [[], ["-v"], ["-p", "a"], ["-pa"], ["--profile=b"], ["--config", "c.toml"],
              ["-vp", "x"], ["-h"], ["--version"], ["--"], ["-q"], ["--timeout", "5"],
              ["--verbose"], ["-p"]]
COMMAND_WORDS = ["wait", "status", "wai", "WAIT", "download", "--", "-"]
BODY_WORDS = ["claret", "1", "claret:1", "-", "--", "--timeout", "5m", "--timeout=10",
              "--timeout=", "--interval", "0", "--interval=0.2", "--fail-fast", "--fail-fast=1",
              "--strict", "--download-dir", "out dir", "--download-dir=", "--no-download",
              "--artifacts", "errors,output", "--artifacts=x", "--follow-related",
              "--not-found-grace", "2m", "--on-end", "echo hi", "--on-end=", "--json",
              "--events", "-q", "--quiet", "-qv", "-vq", "-p", "staging", "-pstaging", "-v",
              "--verbose", "--config=c.toml", "-h", "--help", "-x", "--bogus", "--time",
              "--no-downloads", "-qq", "-5", "", " ", "wait", "--profile", "-t", "--json=0"]


def corpus() -> list[list[str]]:
    lists = [[*root, command, *body]
             for root in ROOT_WORDS for command in COMMAND_WORDS
             for body in ([], ["claret", "1"], ["claret", "1", "--timeout", "5"],
                          ["--json", "claret:1", "--on-end", "x"])]
    rng = random.Random(20261207)
    for _ in range(5000):
        body = [rng.choice(BODY_WORDS) for _ in range(rng.randint(0, 9))]
        lists.append([*rng.choice(ROOT_WORDS), rng.choice(COMMAND_WORDS[:1] * 6
                                                          + COMMAND_WORDS), *body])
    lists += [["wait", *pair] for pair in itertools.product(BODY_WORDS, repeat=2)]
    return lists


def click_reads(argv: list[str]) -> tuple[Any, ...]:
    """What Click makes of ``argv``: ("refused",), ("other", name), or the `wait` call."""
    read = click_context(argv, "wait")
    if read[0] != "read":
        return read
    _, sub, chosen = read
    options = {name: sub.params[name] for name in OPTIONS}
    return ("wait", list(sub.params["jobs"]), options, chosen["config"], chosen["profile"],
            bool(chosen["verbose"]), given_options(sub))


def fast_reads(argv: list[str]) -> tuple[Any, ...] | None:
    call = fastpath.parse_wait(list(argv))
    if call is None:
        return None
    flags = {"fail_fast", "strict", "no_download", "follow_related", "json_output", "events",
             "quiet"}
    options = {name: call.flag(name) if name in flags else call.value(name) for name in OPTIONS}
    return ("wait", call.jobs, options, call.config, call.profile, call.verbose,
            call.resume_options())


def test_the_fast_path_reads_wait_as_click_does_or_declines() -> None:
    cases = corpus()
    assert len(cases) >= 3000
    read = 0
    for argv in cases:
        got = fast_reads(argv)
        if got is None:
            continue
        read += 1
        assert got == click_reads(argv), argv
    assert read >= 1000, read  # not a fast path that declines everything


@pytest.mark.parametrize("argv", [
    ["wait", "claret", "1"],
    ["wait", "claret", "1", "2", "--interval", "0.2", "--no-download", "--json"],
    ["-v", "--config=c.toml", "wait", "--timeout=10m", "claret:1", "merchantops@x:a:b"],
    ["wait", "merchantops", "--", "-q", "--json"],
    ["wait", "-p", "-v", "claret", "1", "--on-end", "--json"],  # values taken as Click does
    ["wait", "claret", "-", "--fail-fast", "--strict", "--follow-related", "--events", "-qv"],
    ["wait", "claret", "1", "--artifacts", "errors", "--download-dir", "out",
     "--not-found-grace", "2m", "--timeout", "5", "--timeout", "6"],  # the last one wins
])
def test_plain_wait_forms_are_read_here(argv: list[str]) -> None:
    assert fast_reads(argv) is not None
    assert fast_reads(argv) == click_reads(argv)


@pytest.mark.parametrize("argv", [
    ["wait", "claret", "1", "--help"], ["wait"], ["wait", "claret", "1", "--timeout"],
    ["wait", "claret", "1", "--json=1"], ["wait", "claret", "1", "--bogus"],
    ["status", "claret", "1"], ["--", "wait", "claret", "1"], ["wait", "claret", "1", "-t", "5"],
])
def test_everything_else_is_left_to_click(argv: list[str]) -> None:
    assert fast_reads(argv) is None


def test_completion_requests_are_left_to_click(monkeypatch) -> None:
    monkeypatch.setenv(fastpath.COMPLETE_VAR, "complete_bash")
    assert fastpath.run(["wait", "claret", "1"], set()) is None
