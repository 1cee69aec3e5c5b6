"""`jobwatch status ...` without importing Typer: the one start-up fast path.

Why it exists: a shell loop calls `jobwatch status` again and again, and importing Typer and
building its commands costs more than the whole request (benchmarks/run.py status: the figure
holds only with it). Why it is safe: it reads the arguments exactly as Click reads them for the
`status` command, or declines and lets Typer read them. tests/test_fastpath.py feeds thousands
of generated argument lists to both and requires, for each, the same result or a decline.

It follows Click's parser (typer._click.parser): at the top level, options until the first
argument that is not one (the command name); in the command, options anywhere before `--`;
`--name=value` and `--name value`; short flags combined (`-qv`), a short option's value glued
to it (`-pstaging`) or following it (`-p staging`), a following value taken even when it looks
like an option (`-p -v`). Anything else — help, version, completion, a typo, a missing value,
another command — is declined.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# option -> (destination, takes a value); the top level's and the command's own.
_GLOBAL = {"--config": ("config", True), "--profile": ("profile", True),
           "-p": ("profile", True), "--verbose": ("verbose", False), "-v": ("verbose", False)}
_STATUS = {**_GLOBAL, "--json": ("json_output", False), "--quiet": ("quiet", False),
           "-q": ("quiet", False)}
COMPLETE_VAR = "_JOBWATCH_COMPLETE"  # completion mode: Typer's to answer


class Decline(Exception):
    """Not a form read here: Typer reads it (and says what is wrong, if anything)."""


@dataclass
class StatusCall:
    """What Click would have handed the `status` command, the global options merged as the
    commands do (the last one given on the command line wins; -v at any level)."""

    jobs: list[str]
    json_output: bool = False
    quiet: bool = False
    config: str | None = None
    profile: str | None = None
    verbose: bool = False
    given: dict[str, object] = field(default_factory=dict, repr=False)


def parse(args: list[str]) -> StatusCall | None:
    try:
        return _parse(args)
    except Decline:
        return None


def _parse(args: list[str]) -> StatusCall:
    rest = list(args)
    top: dict[str, object] = {}
    while rest and rest[0][:1] == "-" and len(rest[0]) > 1:
        if rest[0] == "--":
            raise Decline  # `jobwatch -- status ...`: rare enough to leave to Click
        _option(rest.pop(0), rest, _GLOBAL, top)
    if not rest or rest.pop(0) != "status":
        raise Decline
    own: dict[str, object] = {}
    jobs: list[str] = []
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            jobs += rest
            break
        if arg[:1] == "-" and len(arg) > 1:
            _option(arg, rest, _STATUS, own)
        else:
            jobs.append(arg)
    if not jobs:
        raise Decline  # Click's "Missing argument 'JOBS...'"
    merged = {**top, **own}
    return StatusCall(jobs=jobs, json_output=bool(own.get("json_output")),
                      quiet=bool(own.get("quiet")), config=_text(merged.get("config")),
                      profile=_text(merged.get("profile")),
                      verbose=bool(top.get("verbose") or own.get("verbose")), given=merged)


def _option(arg: str, rest: list[str], table: dict[str, tuple[str, bool]],
            found: dict[str, object]) -> None:
    """One option word, as Click's _process_opts: a long option, with `=value` or not; else,
    unless it starts with `--`, one or more short options (`-qv`, `-pstaging`, `-p=x`)."""
    name, eq, value = arg.partition("=")
    if name.startswith("--") and name in table:
        destination, takes_value = table[name]
        if not takes_value:
            if eq:
                raise Decline  # "Option '--json' does not take a value."
            found[destination] = True
        else:
            found[destination] = value if eq else _value(rest)
        return
    if arg.startswith("--"):
        raise Decline  # no such option (--help and --version among them)
    for at, letter in enumerate(arg[1:], 2):
        destination, takes_value = table.get("-" + letter, ("", False))
        if not destination:
            raise Decline  # no such option here (-h, -V, a typo)
        if takes_value:  # the rest of the word is its value, else the next word
            found[destination] = arg[at:] if at < len(arg) else _value(rest)
            return
        found[destination] = True


def _value(rest: list[str]) -> str:
    if not rest:
        raise Decline  # "Option '-p' requires an argument."
    return rest.pop(0)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def run(args: list[str], secrets: set[str]) -> int | None:
    """The exit code of a `status` read here, or None: Typer must read the arguments."""
    if COMPLETE_VAR in os.environ:
        return None
    call = parse(args)
    if call is None:
        return None
    from jobwatch.runtime import Runtime
    from jobwatch.status import status_command

    runtime = Runtime.from_options(config=call.config, profile=call.profile,
                                   verbose=call.verbose, secrets=secrets)
    return status_command(runtime, call.jobs, json_output=call.json_output, quiet=call.quiet)
