"""Tab pressed in the real shells, with the shipped scripts from completions/ loaded: bash and
zsh interactive on a pseudo-terminal (tests/tabshell.py), fish through `complete
--do-complete`. Each skips when its shell is not installed.

The config file is found the way a user's is: at $XDG_CONFIG_HOME/jobwatch/config.toml, with
profiles default, staging and ci for Claret and eu for MerchantOps.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import clean_env
from tests.tabshell import TabShell
from tests.test_completions import COMPLETIONS, CONFIG, JOBWATCH_BIN, PROVIDERS

# Real shells, bash and zsh on a pseudo-terminal: the slow tier (pytest -m "not slow" skips it).
pytestmark = pytest.mark.slow

OPTIONS = ["--json", "--quiet", "--config", "--profile", "--verbose", "--help"]
SHORT = ["-q", "-p", "-v", "-h"]


class Case(NamedTuple):
    line: str  # typed, then Tab
    offered: list[str]  # whole words, as zsh and fish offer them
    after: str | None = None  # the line after one Tab (bash and zsh); None: unchanged
    bash: list[str] | None = None  # what bash offers when it differs: the part after ':' '@' '='


CASES = [
    Case("jobwatch st", ["status"], "jobwatch status "),
    Case("jobwatch status ", PROVIDERS),
    Case("jobwatch status cl", ["claret"], "jobwatch status claret "),
    Case("jobwatch status claret", ["claret", "claret:", "claret@"]),
    Case("jobwatch status claret@",
        ["claret@ci:", "claret@default:", "claret@demo:", "claret@staging:"],
         bash=["@ci:", "@default:", "@demo:", "@staging:"]),
    # A unique reference form is inserted whole, with no space: the id comes next.
    Case("jobwatch status claret@st", ["claret@staging:"], "jobwatch status claret@staging:",
         bash=["@staging:"]),
    Case("jobwatch wait claret:1001 merchantops@",
        ["merchantops@default:", "merchantops@demo:", "merchantops@eu:"],
         "jobwatch wait claret:1001 merchantops@", bash=["@default:", "@demo:", "@eu:"]),
    # After a reference, only references: not a provider alone.
    Case("jobwatch wait claret:1001 mer", ["merchantops:", "merchantops@"],
         "jobwatch wait claret:1001 merchantops"),
    # Where only an id can go: nothing, not the files of the current directory.
    Case("jobwatch status claret ", []),
    Case("jobwatch status claret 1001 ", []),
    Case("jobwatch status claret:", []),
    Case("jobwatch status claret@staging:", []),
    Case("jobwatch wait claret 1001 --timeout ", []),
    # Profiles, from the config file, for the provider on the line.
    Case("jobwatch status claret 1001 -p ", ["ci", "default", "demo", "staging"]),
    Case("jobwatch status claret 1001 --profile st", ["staging"],
         "jobwatch status claret 1001 --profile staging "),
    Case("jobwatch status claret 1001 --profile=st", ["--profile=staging"],
         "jobwatch status claret 1001 --profile=staging ", bash=["staging"]),
    Case("jobwatch -p ", ["ci", "default", "demo", "eu", "staging"]),
    Case("jobwatch status merchantops job_1 -p ", ["default", "demo", "eu"]),
    # Categories, for the provider on the line, after a comma too.
    Case("jobwatch wait claret 1001 --artifacts ", ["input", "staging", "output", "errors"]),
    Case("jobwatch download merchantops job_1 --artifacts ", ["errors", "warnings", "job"]),
    Case("jobwatch wait claret 1001 --artifacts errors,", ["errors,input", "errors,staging",
                                                          "errors,output"]),
    Case("jobwatch wait claret 1001 --artifacts errors,o", ["errors,output"],
         "jobwatch wait claret 1001 --artifacts errors,output "),
    # Options after the command, the global ones included.
    Case("jobwatch status claret 1001 --", OPTIONS),
    Case("jobwatch status claret 1001 -", OPTIONS + SHORT),
    Case("jobwatch status claret 1001 --pro", ["--profile"],
         "jobwatch status claret 1001 --profile "),
    Case("jobwatch wait claret 1001 --conf", ["--config"], "jobwatch wait claret 1001 --config "),
    # Paths where a path goes: a file and a directory are in the current directory.
    Case("jobwatch --config a", ["a-dir", "a-file.toml"], "jobwatch --config a-"),
    Case("jobwatch wait claret 1001 --download-dir ", ["a-dir"],
         "jobwatch wait claret 1001 --download-dir a-dir/"),
    # The config the line names, before the command or after it; a broken one offers nothing.
    Case("jobwatch --config other.toml status claret 1 -p ", ["blue", "default", "demo"]),
    Case("jobwatch status claret 1 --config other.toml -p ", ["blue", "default", "demo"]),
    Case("jobwatch status --config other.toml claret@",
        ["claret@blue:", "claret@default:", "claret@demo:"],
         bash=["@blue:", "@default:", "@demo:"]),
    Case("jobwatch status claret 1 --config broken.toml -p ", []),
    Case("jobwatch status --config broken.toml claret@", []),
]


def shell_env(home: Path) -> dict[str, str]:
    """A user with CONFIG at the default path under XDG_CONFIG_HOME, in `home`/work, where
    a file and a directory wait to be offered (or not), and `jobwatch` first on PATH."""
    if not JOBWATCH_BIN.exists():
        pytest.skip(f"no jobwatch console script next to {JOBWATCH_BIN.parent}")
    env = clean_env(home)
    config = Path(env["XDG_CONFIG_HOME"]) / "jobwatch" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG)
    work = home / "work"
    (work / "a-dir").mkdir(parents=True)
    (work / "a-file.toml").write_text("")
    (work / "other.toml").write_text('[claret.blue]\ntenant = "b"\n')
    (work / "broken.toml").write_text("[claret.default\n")
    env["PATH"] = f"{JOBWATCH_BIN.parent}:{env['PATH']}"
    env.pop("PYTHONPATH")  # the console script, as installed, imports jobwatch itself
    return env


def _program(shell: str) -> str:
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed")
    return program


@pytest.fixture(scope="module")
def bash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TabShell]:
    program = _program("bash")
    version = subprocess.run([program, "-c", 'echo "${BASH_VERSINFO[0]}${BASH_VERSINFO[1]}"'],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    if int(version or 0) < 44:  # the script needs 4.4 (macOS ships 3.2)
        pytest.skip(f"bash {version} is older than 4.4")
    home = tmp_path_factory.mktemp("bash")
    session = TabShell("bash", program, f"source {COMPLETIONS / 'jobwatch.bash'}",
                       shell_env(home), home / "work", home / "record")
    yield session
    session.close()


ZSH_SETUP = "bindkey -e; autoload -Uz compinit && compinit -u -D"


@pytest.fixture(scope="module")
def zsh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TabShell]:
    program = _program("zsh")
    home = tmp_path_factory.mktemp("zsh")
    session = TabShell("zsh", program, f"{ZSH_SETUP}; source {COMPLETIONS / '_jobwatch'}",
                       shell_env(home), home / "work", home / "record")
    yield session
    session.close()


@pytest.mark.parametrize("case", CASES, ids=[c.line for c in CASES])
def test_bash(bash: TabShell, case: Case) -> None:
    tab = bash.tab(case.line)
    expected = case.bash if case.bash is not None else case.offered
    assert sorted(tab.candidates) == sorted(expected)
    assert tab.line == (case.after or case.line)
    assert "Traceback" not in bash.screen.decode("utf-8", "replace")


@pytest.mark.parametrize("case", CASES, ids=[c.line for c in CASES])
def test_zsh(zsh: TabShell, case: Case) -> None:
    tab = zsh.tab(case.line)
    assert sorted(set(tab.candidates)) == sorted(case.offered)
    assert tab.line == (case.after or case.line)
    assert "Traceback" not in zsh.screen.decode("utf-8", "replace")


@pytest.mark.parametrize("case", CASES, ids=[c.line for c in CASES])
def test_fish(tmp_path: Path, case: Case) -> None:
    program = _program("fish")
    script = (f"source {COMPLETIONS / 'jobwatch.fish'}\n"
              f"complete --do-complete {_fish_quote(case.line)}\n")
    result = subprocess.run([program, "--no-config", "-c", script], cwd=tmp_path / "work",
                            env=shell_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    offered = [line.split("\t")[0].rstrip("/") for line in result.stdout.splitlines()]
    assert sorted(offered) == sorted(case.offered)
    assert result.stderr == ""


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def test_bash_registers_the_function_without_a_file_fallback(tmp_path: Path) -> None:
    # `complete -o default` (Typer's) would offer file names wherever jobwatch offers nothing.
    result = subprocess.run(
        [_program("bash"), "--norc", "--noprofile", "-c",
         f"source {COMPLETIONS / 'jobwatch.bash'}; complete -p jobwatch"],
        capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "complete -F _jobwatch_completion jobwatch"


def test_zsh_answers_the_first_tab_when_loaded_from_fpath(tmp_path: Path) -> None:
    # The file on $fpath is autoloaded by the first Tab, which it must answer too.
    session = TabShell("zsh", _program("zsh"), f"fpath=({COMPLETIONS} $fpath); {ZSH_SETUP}",
                       shell_env(tmp_path), tmp_path / "work", tmp_path / "record")
    try:
        assert session.tab("jobwatch status claret@st").line == "jobwatch status claret@staging:"
        assert sorted(set(session.tab("jobwatch -p ").candidates)) == [
            "ci", "default", "demo", "eu", "staging"]
    finally:
        session.close()
