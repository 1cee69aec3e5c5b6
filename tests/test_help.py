"""--help and --version: what they say, and that it reads well at 80 columns (examples whole,
no Python type names)."""

from __future__ import annotations

import re

import pytest

from jobwatch import __version__

# -- examples and words ------------------------------------------------------------------------


HELP_COMMANDS = [["status"], ["wait"], ["download"], ["providers"], ["schema"], ["demo"],
                 ["config"], ["config", "path"], ["config", "show"], ["config", "init"],
                 ["config", "check"]]


def epilog_of(command: list[str]) -> str:
    import importlib

    from jobwatch.commands import config

    if command[0] == "config":
        names = {"path": "PATH", "show": "SHOW", "init": "INIT", "check": "CHECK"}
        if len(command) == 1:
            return config.config_app.info.help or ""
        return getattr(config, f"{names[command[1]]}_EXAMPLES")
    return importlib.import_module(f"jobwatch.commands.{command[0]}").EXAMPLES


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_help_examples_stay_whole_at_80_columns(run_cli, command: list[str]) -> None:
    result = run_cli(*command, "--help", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    examples = [line.strip() for line in epilog_of(command).split("\b")[1:]]
    assert examples, command
    lines = result.stdout.splitlines()
    for example in examples:
        assert len(example) < 76, example
        assert f"    {example}" in lines, (example, result.stdout)  # indented like the root's
    assert "  Examples:" in lines


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_help_shows_no_python_type_names(run_cli, command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"<(str|int|float|bool|list|int range)\b[^>]*>", result.stdout), \
        result.stdout
    assert "0<=x<=" not in result.stdout


def test_download_json_help_says_what_it_prints(run_cli) -> None:
    text = " ".join(run_cli("download", "--help").stdout.split())
    assert "--json JSON Lines on stdout: each job, with outcome and downloads." in text


def test_help_lists_the_commands(run_cli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    for command in ("status", "wait", "download", "providers", "config"):
        assert re.search(rf"^\W*{command}\s", result.stdout, re.MULTILINE), (command, result.stdout)


def test_status_help_documents_exit_codes(run_cli) -> None:
    result = run_cli("status", "--help")
    assert result.returncode == 0
    assert "--json" in result.stdout and "--quiet" in result.stdout
    assert "jobwatch status claret 12345" in result.stdout


@pytest.mark.parametrize(("command", "codes"), [
    ("status", [0, 1, 2, 3, 4, 5, 6, 7, 130]),
    ("wait", [0, 1, 2, 4, 5, 6, 7, 8, 124, 130]),
    ("download", [0, 2, 3, 4, 5, 6, 7, 8, 130]),
])
def test_help_lists_every_exit_code_the_command_can_end_with(command: str,
                                                             codes: list[int]) -> None:
    import importlib

    text = " ".join(importlib.import_module(f"jobwatch.commands.{command}").HELP.split())
    listed = text.split("Exit code: ", 1)[1]
    assert [int(n) for n in re.findall(r"(?:^|, )(\d+) ", listed)] == codes, listed


@pytest.mark.parametrize("group", [[], ["config"]])
def test_command_summaries_are_whole_sentences(run_cli, group: list[str]) -> None:
    # Click cuts a summary it finds too long at "...": each is written to fit.
    result = run_cli(*group, "--help", env={"COLUMNS": "80"})
    commands = result.stdout.split("Commands:", 1)[1].splitlines()
    summaries = [line.split(None, 1)[1] for line in commands if line.strip()]
    assert summaries and all(s.endswith(".") and not s.endswith("...") for s in summaries), \
        summaries


def test_bare_jobwatch_shows_help_without_an_empty_error(run_cli) -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "status" in result.stdout + result.stderr
    assert "error:" not in result.stderr
    assert "Traceback" not in result.stderr


# -- --version ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(run_cli, flag) -> None:
    result = run_cli(flag)
    assert result.returncode == 0
    assert result.stdout == f"jobwatch {__version__}\n"
    assert result.stderr == ""


def test_version_with_other_global_options(run_cli) -> None:
    result = run_cli("-v", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"jobwatch {__version__}"
