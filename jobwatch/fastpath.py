"""The everyday forms of `status`, `wait` and `download`, parsed without importing Typer, and
the one table of global options.

Importing Typer and building its commands costs ~60 ms per start, which a shell loop calling
`jobwatch status` would pay every time. Only plain forms are taken here: anything else —
`--help`, a typo, an unknown provider, a missing id — returns None and goes through Typer,
which owns the usage errors. tests/test_fastpath.py checks that these tables match the Typer
commands and callback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobwatch.providers import PROVIDERS

# command: (flags without a value, flags with a value, several job ids?)
COMMANDS: dict[str, tuple[dict[str, str], dict[str, str], bool]] = {
    "status": ({"--json": "json_output", "--quiet": "quiet", "-q": "quiet"}, {}, False),
    "download": ({"--json": "json_output", "--quiet": "quiet", "-q": "quiet"},
                 {"--download-dir": "download_dir", "--artifacts": "artifacts"}, False),
    "wait": ({"--json": "json_output", "--quiet": "quiet", "-q": "quiet",
              "--fail-fast": "fail_fast", "--strict": "strict", "--no-download": "no_download",
              "--follow-related": "follow_related"},
             {"--timeout": "timeout", "--interval": "interval", "--download-dir": "download_dir",
              "--artifacts": "artifacts"}, True),
}
# The global options, which work before the command and after it (__main__ moves them to the
# front): name -> (key, takes a value).
GLOBAL_OPTIONS: dict[str, tuple[str, bool]] = {
    "--config": ("config_path", True), "--profile": ("profile", True), "-p": ("profile", True),
    "--verbose": ("verbose", False), "-v": ("verbose", False),
}
GLOBAL_VALUES = {name: key for name, (key, value) in GLOBAL_OPTIONS.items() if value}
GLOBAL_FLAGS = {name: key for name, (key, value) in GLOBAL_OPTIONS.items() if not value}
# One-letter flags that may be combined (`-qv`): every command's, the global ones, and help's.
SHORT_FLAGS = frozenset({"-h", *(n for n in GLOBAL_FLAGS if len(n) == 2),
                         *(n for flags, _, _ in COMMANDS.values() for n in flags if len(n) == 2)})
SHORT_VALUES = frozenset(n for n in GLOBAL_VALUES if len(n) == 2)


def split_short_flags(arg: str) -> list[str]:
    """`-qv` as ["-q", "-v"], `-vpstaging` as ["-v", "-p", "staging"], as Click reads them;
    anything else (an unknown letter: Click's to refuse) unchanged."""
    if len(arg) < 3 or arg[0] != "-" or arg[1] == "-":
        return [arg]
    split: list[str] = []
    for at, letter in enumerate(arg[1:], 2):
        flag = "-" + letter
        if flag in SHORT_VALUES:  # the rest of the word is its value
            return split + [flag] + ([arg[at:]] if arg[at:] else [])
        if flag not in SHORT_FLAGS:
            return [arg]
        split.append(flag)
    return split


def parse(args: list[str]) -> tuple[str, dict[str, Any], list[str]] | None:
    """(command, options, positional arguments), or None when Typer should parse it."""
    options: dict[str, Any] = {}
    positional: list[str] = []
    command: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        flags, values, _ = COMMANDS.get(command or "", ({}, {}, False))
        if name in GLOBAL_VALUES or name in values:
            key = GLOBAL_VALUES.get(name) or values[name]
            if eq:
                options[key] = inline
            elif i + 1 < len(args):
                options[key] = args[i + 1]
                i += 1
            else:
                return None
        elif (arg in GLOBAL_FLAGS or arg in flags) and not eq:
            options[GLOBAL_FLAGS.get(arg) or flags[arg]] = True
        elif arg.startswith("-"):
            return None
        elif command is None:
            if arg not in COMMANDS:
                return None
            command = arg
        else:
            positional.append(arg)
        i += 1
    if command is None or len(positional) < 2 or positional[0].lower() not in PROVIDERS:
        return None
    if len(positional) > 2 and not COMMANDS[command][2]:
        return None
    return command, options, positional


def run(args: list[str], secrets: set[str] | None = None) -> int | None:
    """Run a plain `status`, `wait` or `download`; None if Typer must handle the arguments.
    ``secrets`` collects what the run must never print, for __main__'s last resort."""
    parsed = parse(args)
    if parsed is None:
        return None
    command, options, positional = parsed
    from jobwatch.runtime import Runtime

    runtime = Runtime.from_options(config=options.pop("config_path", None),
                                   profile=options.pop("profile", None),
                                   verbose=options.pop("verbose", False), secrets=secrets)
    provider, ids = positional[0].lower(), positional[1:]
    return _RUNNERS[command](runtime, provider, ids, options)


def _status(runtime: Any, provider: str, ids: list[str], options: dict[str, Any]) -> int:
    from jobwatch.status import run_status

    return run_status(runtime, provider, ids[0], json_output=options.get("json_output", False),
                      quiet=options.get("quiet", False))


def _wait(runtime: Any, provider: str, ids: list[str], options: dict[str, Any]) -> int:
    from jobwatch.wait import WaitOptions, run_wait

    return run_wait(runtime, provider, ids, WaitOptions(**options))


def _download(runtime: Any, provider: str, ids: list[str], options: dict[str, Any]) -> int:
    from jobwatch.wait import run_download

    return run_download(runtime, provider, ids[0], **options)


_RUNNERS: dict[str, Callable[[Any, str, list[str], dict[str, Any]], int]] = {
    "status": _status, "wait": _wait, "download": _download,
}
