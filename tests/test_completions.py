"""Shell completion: the committed scripts are current, parse, and the CLI answers Tab."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobwatch import completions
from tests.conftest import REPO, clean_env

COMPLETIONS = REPO / "completions"
PROVIDERS = ["retailgrid", "merchantops", "julep", "claret"]
COMMANDS = ["status", "wait", "download", "providers", "schema", "config", "demo"]
REGENERATE = "out of date: run `python -m jobwatch.completions` and commit completions/"
# The console script next to this interpreter: what the scripts call as `jobwatch`.
JOBWATCH_BIN = Path(sys.executable).parent / "jobwatch"


def complete(tmp_path: Path, shell: str, line: str) -> list[str]:
    """Ask the CLI for completions of `line`, through the protocol `shell`'s script speaks."""
    if shell == "bash":
        words = line.split(" ")
        env = {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    else:
        env = {"_TYPER_COMPLETE_ARGS": line}
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    env[completions.COMPLETE_VAR] = f"complete_{shell}"
    result = subprocess.run([sys.executable, "-m", "jobwatch"], cwd=tmp_path,
                            env=clean_env(tmp_path, **env), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    if shell == "zsh":  # _arguments '*: :(("status":"help..." "wait":"..."))'
        body = result.stdout.split("((", 1)[1]
        return [item.split('"')[1] for item in body.splitlines() if item.startswith('"')]
    return [item.split("\t")[0] for item in result.stdout.splitlines() if item]


@pytest.mark.parametrize("shell", sorted(completions.FILES))
def test_committed_scripts_are_current(shell: str) -> None:
    name = completions.FILES[shell]
    path = COMPLETIONS / name
    assert path.is_file(), f"completions/{name} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == completions.script(shell), \
        f"completions/{name} is {REGENERATE}"


def test_check_mode_reports_current_and_stale_files(tmp_path: Path) -> None:
    assert completions.stale(COMPLETIONS) == [], REGENERATE
    written = completions.write(tmp_path)
    assert sorted(p.name for p in written) == sorted(completions.FILES.values())
    (tmp_path / "_jobwatch").write_text("# edited by hand\n")
    (tmp_path / "jobwatch.fish").unlink()
    assert completions.stale(tmp_path) == ["_jobwatch", "jobwatch.fish"]


@pytest.mark.parametrize("shell", sorted(completions.FILES))
def test_scripts_match_what_the_cli_installs(tmp_path: Path, shell: str) -> None:
    # With detection off, --show-completion takes the shell's name and prints what
    # --install-completion would write: the committed file must be that script.
    result = subprocess.run(
        [sys.executable, "-m", "jobwatch", "--show-completion", shell], cwd=tmp_path,
        env=clean_env(tmp_path, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"),
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (COMPLETIONS / completions.FILES[shell]).read_text(), REGENERATE
    assert completions.COMPLETE_VAR in result.stdout


def test_bash_accepts_the_script() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    result = subprocess.run([bash, "-n", str(COMPLETIONS / "jobwatch.bash")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("shell", "check"), [("zsh", ["-n"]), ("fish", ["--no-execute"])])
def test_zsh_and_fish_accept_their_scripts(shell: str, check: list[str]) -> None:
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed")
    path = COMPLETIONS / completions.FILES[shell]
    result = subprocess.run([program, *check, str(path)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("command", ["status", "wait", "download"])
def test_provider_names_complete(tmp_path: Path, shell: str, command: str) -> None:
    assert complete(tmp_path, shell, f"jobwatch {command} ") == PROVIDERS


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_top_level_commands_complete(tmp_path: Path, shell: str) -> None:
    assert sorted(complete(tmp_path, shell, "jobwatch ")) == sorted(COMMANDS)


def test_partial_words_and_subcommands_complete(tmp_path: Path) -> None:
    assert complete(tmp_path, "bash", "jobwatch st") == ["status"]
    assert complete(tmp_path, "bash", "jobwatch status cl") == ["claret"]
    assert complete(tmp_path, "bash", "jobwatch config ") == ["path", "show", "init", "check"]
    assert "--timeout" in complete(tmp_path, "bash", "jobwatch wait claret 1001 --")


def test_install_completion_is_offered_in_help(run_cli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout


def _shell_env(tmp_path: Path) -> dict[str, str]:
    if not JOBWATCH_BIN.exists():
        pytest.skip(f"no jobwatch console script next to {sys.executable}")
    env = clean_env(tmp_path)
    env["PATH"] = f"{JOBWATCH_BIN.parent}:{env.get('PATH', '')}"
    return env


def test_bash_script_completes_in_a_real_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    script = (f"source {COMPLETIONS / 'jobwatch.bash'}\n"
              'COMP_WORDS=(jobwatch status ""); COMP_CWORD=2\n'
              "_jobwatch_completion jobwatch\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    result = subprocess.run([bash, "--norc", "--noprofile", "-c", script], cwd=tmp_path,
                            env=_shell_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == PROVIDERS


def test_fish_script_completes_in_a_real_fish(tmp_path: Path) -> None:
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed")
    script = f"source {COMPLETIONS / 'jobwatch.fish'}; complete -C 'jobwatch status '"
    result = subprocess.run([fish, "--no-config", "-c", script], cwd=tmp_path,
                            env=_shell_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(PROVIDERS)


def test_zsh_script_calls_the_cli_with_the_words_typed(tmp_path: Path) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    # No terminal for the completion system here: stub compdef and _arguments, and check
    # that the function hands the words typed so far to jobwatch and evals its answer.
    script = ("compdef() { :; }; _arguments() { print -r -- \"$@\"; }\n"
              f"source {COMPLETIONS / '_jobwatch'}\n"
              'words=(jobwatch status ""); CURRENT=3\n'
              "_jobwatch_completion\n")
    result = subprocess.run([zsh, "-f", "-c", script], cwd=tmp_path, env=_shell_env(tmp_path),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '*: :(("retailgrid" "merchantops" "julep" "claret"))'
