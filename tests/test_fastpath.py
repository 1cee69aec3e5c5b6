"""The hand parser for status/wait/download must accept exactly what the Typer commands accept."""

from __future__ import annotations

import pytest
from typer.main import get_command

from jobwatch import fastpath
from jobwatch.__main__ import hoist_global_options
from jobwatch.cli import app
from tests.fakeserver import json_reply


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


# What a start may import: the issue's "--help and --version do not import rich.live, pydantic
# models or httpx", and a plain status that needs neither Typer nor rich.
PROBE = """
import sys
from jobwatch.__main__ import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.__stderr__.write("MODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


def imported_by(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **(env or {})})
    line = [x for x in result.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(line.split()[1:])


def heavy(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in modules for n in names if m == n or m.startswith(n + ".")}


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_nothing_heavy(args: list[str]) -> None:
    assert heavy(imported_by(args), ("httpx", "httpcore", "pydantic", "rich.live",
                                     "rich.progress", "jobwatch.models")) == set()


def test_version_imports_not_even_typer() -> None:
    assert heavy(imported_by(["--version"]), ("typer", "click", "rich", "jobwatch.cli")) == set()


def test_a_plain_status_imports_neither_typer_nor_rich(fake) -> None:
    fake.route("/acme/api/v1/imports/status/1", json_reply(
        {"message": "ok", "content": {"job_log_id": 1, "status": "completed"}}))
    env = {"JOBWATCH_CLARET_BASE_URL": fake.url, "JOBWATCH_CLARET_TOKEN": "tok_x",
           "JOBWATCH_CLARET_TENANT": "acme"}
    modules = imported_by(["status", "claret", "1", "--json"], env)
    assert "httpx" in modules  # it did make its request
    assert heavy(modules, ("typer", "click", "rich")) == set()


@pytest.mark.parametrize(("argv", "hoisted"), [
    (["status", "claret", "1", "-qv"], ["-v", "status", "claret", "1", "-q"]),
    (["status", "claret", "1", "-vpstaging"], ["-v", "-p", "staging", "status", "claret", "1"]),
    (["status", "claret", "1", "-pstaging"], ["-p", "staging", "status", "claret", "1"]),
    (["wait", "claret", "1", "--timeout", "-qv"], ["wait", "claret", "1", "--timeout", "-qv"]),
    (["status", "merchantops", "--", "-qv"], ["status", "merchantops", "--", "-qv"]),
    (["status", "claret", "1", "-qx"], ["status", "claret", "1", "-qx"]),  # Click refuses it
])
def test_combined_short_flags_are_split_before_hoisting(argv, hoisted) -> None:
    # Review 2-a D14: `jobwatch status claret 4 -qv` was "No such option: -v".
    assert hoist_global_options(argv) == hoisted


def test_one_table_of_global_options_for_hoisting_parsing_and_typer() -> None:
    params = get_command(app).params
    typer_names = {o for p in params if p.name in ("config", "profile", "verbose")
                   for o in p.opts}
    assert typer_names == set(fastpath.GLOBAL_OPTIONS)


@pytest.mark.parametrize(("config", "profile", "env", "expected"), [
    (None, None, {}, (None, "default", False)),
    (None, None, {"JOBWATCH_CONFIG": "", "JOBWATCH_PROFILE": ""}, (None, "default", False)),
    (None, None, {"JOBWATCH_CONFIG": "e.toml", "JOBWATCH_PROFILE": "ci"}, ("e.toml", "ci", True)),
    ("f.toml", "dev", {"JOBWATCH_CONFIG": "e.toml", "JOBWATCH_PROFILE": "ci"},
     ("f.toml", "dev", True)),
])
def test_runtime_from_options_is_one_rule_for_both_paths(config, profile, env,
                                                         expected) -> None:
    from jobwatch.runtime import Runtime

    runtime = Runtime.from_options(config=config, profile=profile, verbose=False, env=env)
    assert (runtime.config_path, runtime.profile, runtime.profile_chosen) == expected
