"""`jobwatch status ...` and `jobwatch wait ...` without importing Typer: the start-up fast
path.

Why it exists: a shell loop calls `jobwatch status` again and again, and importing Typer and
building its commands costs more than the whole request (benchmarks/run.py status: the figure
holds only with it); Typer 0.29 also builds a pydantic TypeAdapter for every option it reads,
~30 ms of every `wait` (benchmarks/run.py idle and wait-cpu count the whole run). Why it is
safe: it reads the arguments exactly as Click reads them for these two commands, or declines
and lets Typer read them. tests/test_fastpath.py and tests/test_fastpath_wait.py feed
thousands of generated argument lists to both and require, for each, the same result or a
decline.

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
# In the order the `wait` command declares them (a resume command repeats them in it).
WAIT_OPTIONS = {"--timeout": ("timeout", True), "--interval": ("interval", True),
                "--fail-fast": ("fail_fast", False), "--strict": ("strict", False),
                "--download-dir": ("download_dir", True),
                "--no-download": ("no_download", False), "--artifacts": ("artifacts", True),
                "--follow-related": ("follow_related", False),
                "--not-found-grace": ("not_found_grace", True), "--on-end": ("on_end", True),
                "--json": ("json_output", False), "--events": ("events", False),
                "--quiet": ("quiet", False)}
_WAIT = {**_GLOBAL, **WAIT_OPTIONS, "-q": ("quiet", False)}
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


@dataclass
class WaitCall:
    """What Click would have handed the `wait` command (as StatusCall); ``options``: the
    command's own options given on the command line, by destination (the last one wins)."""

    jobs: list[str]
    options: dict[str, object]
    config: str | None = None
    profile: str | None = None
    verbose: bool = False

    def flag(self, name: str) -> bool:
        return bool(self.options.get(name))

    def value(self, name: str) -> str | None:
        return _text(self.options.get(name))

    def resume_options(self) -> list[tuple[str, tuple[str, ...]]]:
        """The options a resume command repeats, as jobwatch.resume.given_options reads them
        from Click: in the command's order, each as typed again in its long form; never
        --on-end (jobwatch.resume.NEVER_REPEATED) nor the global ones."""
        from jobwatch.resume import NEVER_REPEATED

        found: list[tuple[str, tuple[str, ...]]] = []
        for flag, (name, takes_value) in WAIT_OPTIONS.items():
            if name in NEVER_REPEATED or name not in self.options:
                continue
            if takes_value:
                found.append((name, (flag, str(self.options[name]))))
            elif self.options[name]:
                found.append((name, (flag,)))
        return found


def parse(args: list[str]) -> StatusCall | None:
    """A `status` call, or None."""
    try:
        jobs, top, own = _parse(args, "status", _STATUS)
    except Decline:
        return None
    merged = {**top, **own}
    return StatusCall(jobs=jobs, json_output=bool(own.get("json_output")),
                      quiet=bool(own.get("quiet")), config=_text(merged.get("config")),
                      profile=_text(merged.get("profile")),
                      verbose=bool(top.get("verbose") or own.get("verbose")), given=merged)


def parse_wait(args: list[str]) -> WaitCall | None:
    """A `wait` call, or None."""
    try:
        jobs, top, own = _parse(args, "wait", _WAIT)
    except Decline:
        return None
    merged = {**top, **own}
    options = {k: v for k, v in own.items() if k not in ("config", "profile", "verbose")}
    return WaitCall(jobs=jobs, options=options, config=_text(merged.get("config")),
                    profile=_text(merged.get("profile")),
                    verbose=bool(top.get("verbose") or own.get("verbose")))


def _parse(args: list[str], command: str, table: dict[str, tuple[str, bool]]
           ) -> tuple[list[str], dict[str, object], dict[str, object]]:
    """The jobs, the top level's options and the command's own (global ones included)."""
    rest = list(args)
    top: dict[str, object] = {}
    while rest and rest[0][:1] == "-" and len(rest[0]) > 1:
        if rest[0] == "--":
            raise Decline  # `jobwatch -- status ...`: rare enough to leave to Click
        _option(rest.pop(0), rest, _GLOBAL, top)
    if not rest or rest.pop(0) != command:
        raise Decline
    own: dict[str, object] = {}
    jobs: list[str] = []
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            jobs += rest
            break
        if arg[:1] == "-" and len(arg) > 1:
            _option(arg, rest, table, own)
        else:
            jobs.append(arg)
    if not jobs:
        raise Decline  # Click's "Missing argument 'JOBS...'"
    return jobs, top, own


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
    """The exit code of a `status` or `wait` read here, or None: Typer must read the
    arguments."""
    if COMPLETE_VAR in os.environ:
        return None
    from jobwatch.runtime import Runtime

    call = parse(args)
    if call is not None:
        from jobwatch.status import status_command

        runtime = Runtime.from_options(config=call.config, profile=call.profile,
                                       verbose=call.verbose, secrets=secrets)
        return status_command(runtime, call.jobs, json_output=call.json_output,
                              quiet=call.quiet)
    waiting = parse_wait(args)
    if waiting is None:
        return None
    from jobwatch.resume import Resume
    from jobwatch.watch import WaitOptions, wait_command

    runtime = Runtime.from_options(config=waiting.config, profile=waiting.profile,
                                   verbose=waiting.verbose, secrets=secrets)
    opts = WaitOptions(timeout=waiting.value("timeout"), interval=waiting.value("interval"),
                       fail_fast=waiting.flag("fail_fast"), strict=waiting.flag("strict"),
                       download_dir=waiting.value("download_dir"),
                       no_download=waiting.flag("no_download"),
                       artifacts=waiting.value("artifacts"),
                       follow_related=waiting.flag("follow_related"),
                       not_found_grace=waiting.value("not_found_grace"),
                       on_end=waiting.value("on_end"))
    return wait_command(runtime, waiting.jobs, opts, json_output=waiting.flag("json_output"),
                        events=waiting.flag("events"), quiet=waiting.flag("quiet"),
                        resume=Resume.given(waiting.resume_options(), runtime.profile,
                                            runtime.config_path, runtime.verbose))
