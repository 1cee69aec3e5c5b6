"""The hand parser for status/wait/download must accept exactly what the Typer commands accept."""

from __future__ import annotations

import pytest
from typer.main import get_command

from jobwatch import fastpath
from jobwatch.__main__ import hoist_global_options
from jobwatch.cli import app


def _typer_options(command: str) -> tuple[set[str], set[str]]:
    click_command = get_command(app).commands[command]  # type: ignore[attr-defined]
    flags, values = set(), set()
    for param in click_command.params:
        if param.param_type_name != "option":
            continue
        names = set(param.opts) | set(param.secondary_opts)
        (flags if param.is_flag else values).update(names)
    return flags - {"--help", "-h"}, values


@pytest.mark.parametrize("command", sorted(fastpath.COMMANDS))
def test_the_table_matches_the_typer_command(command: str) -> None:
    flags, values, _ = fastpath.COMMANDS[command]
    assert _typer_options(command) == (set(flags), set(values))


def test_the_global_options_match_the_typer_callback() -> None:
    params = get_command(app).params
    values = {o for p in params if not getattr(p, "is_flag", False) for o in p.opts}
    flags = {o for p in params if getattr(p, "is_flag", False) for o in p.opts}
    assert set(fastpath.GLOBAL_VALUES) <= values
    assert set(fastpath.GLOBAL_FLAGS) <= flags


@pytest.mark.parametrize(("argv", "expected"), [
    (["status", "claret", "1", "--json"], ("status", {"json_output": True}, ["claret", "1"])),
    (["status", "CLARET", "1", "-p", "staging"],
     ("status", {"profile": "staging"}, ["CLARET", "1"])),
    (["wait", "claret", "1", "2", "--timeout=5m", "--interval", "0.5", "--fail-fast"],
     ("wait", {"timeout": "5m", "interval": "0.5", "fail_fast": True}, ["claret", "1", "2"])),
    (["download", "claret", "1", "--artifacts", "errors", "--download-dir", "out", "-v"],
     ("download", {"artifacts": "errors", "download_dir": "out", "verbose": True},
      ["claret", "1"])),
])
def test_plain_forms_are_parsed(argv: list[str], expected: tuple) -> None:
    assert fastpath.parse(hoist_global_options(argv)) == expected


@pytest.mark.parametrize("argv", [
    ["status", "claret", "1", "--help"],
    ["status", "nope", "1"],
    ["status", "claret"],
    ["status", "claret", "1", "2"],
    ["status", "claret", "1", "--timeout", "5"],   # a wait option on status
    ["wait", "claret", "1", "--timeout"],           # a value missing
    ["wait", "claret", "1", "--json=yes"],
    ["config", "show"],
    ["providers"],
    ["--version"],
    [],
])
def test_everything_else_goes_to_typer(argv: list[str]) -> None:
    assert fastpath.parse(hoist_global_options(argv)) is None
