"""Shell completion: the committed scripts are current and what the CLI installs, and the
answers jobwatch gives them (tests/test_completion_shells.py presses Tab in the real shells)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from jobwatch import completions
from jobwatch.commands import app
from jobwatch.commands.complete import respond, split_line
from jobwatch.errors import UsageError
from tests.conftest import REPO, clean_env

COMPLETIONS = REPO / "completions"
PROVIDERS = ["retailgrid", "merchantops", "julep", "claret"]
COMMANDS = ["status", "wait", "download", "providers", "schema", "demo", "config"]
REGENERATE = "out of date: run `python -m jobwatch.completions` and commit completions/"
# The console script next to this interpreter: what the scripts call as `jobwatch`.
JOBWATCH_BIN = Path(sys.executable).parent / "jobwatch"
CONFIG = """\
[claret.default]
tenant = "acme"

[claret.staging]
tenant = "acme-staging"

[claret.ci]
tenant = "acme-ci"

[merchantops.eu]
token_env = "MO_EU_TOKEN"
"""


def write_config(tmp_path: Path, text: str = CONFIG) -> Path:
    """The config file at the default path for XDG_CONFIG_HOME=tmp_path/xdg (clean_env's)."""
    path = tmp_path / "xdg" / "jobwatch" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def ask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """What jobwatch answers a script for `line` (the command line up to the cursor): the kind
    and the candidates, in a clean environment whose default config is CONFIG."""
    for name, value in clean_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JOBWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    cli = get_command(app)

    def answer(line: str, shell: str = "zsh", cur: str | None = None) -> tuple[str, list[str]]:
        kind, *items = respond(cli, {}, "jobwatch", shell, line, cur).splitlines()
        return kind, [item.split("\t")[0] for item in items]

    return answer


# -- the scripts ------------------------------------------------------------------------------


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


def _in_shell(shell: str, command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`command` run by `shell` (which then stays its parent: shell detection sees it)."""
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed")
    if not JOBWATCH_BIN.exists():
        pytest.skip(f"no jobwatch console script next to {sys.executable}")
    return subprocess.run([program, "-c", f"{JOBWATCH_BIN} {command}; exit $status"
                           if shell == "fish" else f"{JOBWATCH_BIN} {command}; exit $?"],
                          cwd=tmp_path, env=clean_env(tmp_path), capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("shell", sorted(completions.FILES))
def test_show_completion_prints_the_committed_script(tmp_path: Path, shell: str) -> None:
    result = _in_shell(shell, "--show-completion", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (COMPLETIONS / completions.FILES[shell]).read_text(), REGENERATE


@pytest.mark.parametrize(("shell", "script", "rc", "loads"), [
    ("bash", "home/.bash_completions/jobwatch.sh", "home/.bashrc", "source '{script}'"),
    ("zsh", "home/.zfunc/_jobwatch", "home/.zshrc",
     "fpath+=~/.zfunc; autoload -Uz compinit; compinit"),
    # fish looks in $XDG_CONFIG_HOME/fish, not ~/.config, when it is set.
    ("fish", "xdg/fish/completions/jobwatch.fish", None, None),
])
def test_install_completion_puts_the_script_where_the_shell_looks(
        tmp_path: Path, shell: str, script: str, rc: str | None, loads: str | None) -> None:
    for _ in range(2):  # a second install changes nothing more
        result = _in_shell(shell, "--install-completion", tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert f"{shell} completion installed in {tmp_path / script}" in result.stderr
    assert (tmp_path / script).read_text() == completions.script(shell)
    if rc is not None and loads is not None:
        lines = (tmp_path / rc).read_text().splitlines()
        assert lines.count(loads.format(script=tmp_path / script)) == 1


def test_install_keeps_what_the_rc_file_had(tmp_path: Path) -> None:
    bashrc = tmp_path / ".bashrc"
    bashrc.write_text("alias ll='ls -l'")  # no newline at the end
    completions.install("bash", home=tmp_path)
    assert bashrc.read_text() == (f"alias ll='ls -l'\n"
                                  f"source '{tmp_path / '.bash_completions/jobwatch.sh'}'\n")


def test_a_shell_without_completion_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import shellingham  # type: ignore[import-untyped]

    def undetected() -> tuple[str, str]:
        raise shellingham.ShellDetectionFailure()

    monkeypatch.setattr(shellingham, "detect_shell", undetected)
    monkeypatch.setenv("SHELL", "/bin/tcsh")
    with pytest.raises(UsageError, match=r"cannot complete for this shell \(tcsh\)"):
        completions.detect_shell()
    monkeypatch.setenv("SHELL", "/usr/bin/zsh")  # $SHELL when the process tree says nothing
    assert completions.detect_shell() == "zsh"


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


def test_install_completion_is_offered_in_help(run_cli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout


# -- the answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "args", "word"), [
    ("jobwatch status ", ["status"], ""),
    ("jobwatch status cla", ["status"], "cla"),
    ("jobwatch status claret@st", ["status"], "claret@st"),
    ('jobwatch status "claret@st', ["status"], "claret@st"),  # a quote still open
    ("jobwatch --config 'my dir/c.toml' status x\\ y", ["--config", "my dir/c.toml", "status"],
     "x y"),
    ("jobwatch status ''", ["status"], ""),
    ("jobwatch", [], "jobwatch"),
])
def test_the_line_is_split_as_the_shell_splits_it(line: str, args: list[str], word: str) -> None:
    assert split_line(line) == (args, word)


@pytest.mark.parametrize("command", ["status", "wait", "download"])
def test_jobs_start_with_the_provider_names(ask, command: str) -> None:
    assert ask(f"jobwatch {command} ") == ("plain", PROVIDERS)


@pytest.mark.parametrize(("line", "expected"), [
    ("jobwatch ", COMMANDS),
    ("jobwatch st", ["status"]),
    ("jobwatch config ", ["path", "show", "init", "check"]),
    ("jobwatch status cl", ["claret"]),
    ("jobwatch status claret", ["claret", "claret:", "claret@"]),
    ("jobwatch status claret@",
        ["claret@ci:", "claret@default:", "claret@demo:", "claret@staging:"]),
    ("jobwatch status claret@st", ["claret@staging:"]),
    ("jobwatch status merchantops@",
        ["merchantops@default:", "merchantops@demo:", "merchantops@eu:"]),
    ("jobwatch status nosuch@", []),
    # After a reference, another reference: the ref forms only.
    ("jobwatch wait claret:1001 ", [f"{p}{form}" for p in PROVIDERS for form in ":@"]),
    ("jobwatch wait claret:1001 m", ["merchantops:", "merchantops@"]),
    ("jobwatch wait claret:1001 julep", ["julep:", "julep@"]),
    # Where only an id can go: nothing (and never file names).
    ("jobwatch status claret ", []),
    ("jobwatch status claret 1001 ", []),
    ("jobwatch status claret:", []),
    ("jobwatch status claret@staging:", []),
    ("jobwatch status claret@staging:1", []),
    ("jobwatch wait - ", []),
    ("jobwatch wait claret 1001 --timeout ", []),
    ("jobwatch wait claret 1001 --interval 5", []),
])
def test_commands_and_job_references(ask, line: str, expected: list[str]) -> None:
    assert ask(line) == ("plain", expected)


@pytest.mark.parametrize(("line", "expected"), [
    ("jobwatch status claret 1001 -p ", ["ci", "default", "demo", "staging"]),
    ("jobwatch status claret 1001 --profile ", ["ci", "default", "demo", "staging"]),
    ("jobwatch status claret 1001 -p s", ["staging"]),
    ("jobwatch status claret 1001 --profile=s", ["--profile=staging"]),
    ("jobwatch status -p ", ["ci", "default", "demo", "eu", "staging"]),
    ("jobwatch -p ", ["ci", "default", "demo", "eu", "staging"]),
    ("jobwatch -v -p ", ["ci", "default", "demo", "eu", "staging"]),
    ("jobwatch status merchantops x -p ", ["default", "demo", "eu"]),
    # -p decides the profile of the references without one: merchantops's, not claret's.
    ("jobwatch wait claret@staging:1 merchantops:x -p ", ["default", "demo", "eu"]),
    ("jobwatch wait claret:1 -v -p ", ["ci", "default", "demo", "staging"]),
    ("jobwatch config show -p ", ["ci", "default", "demo", "eu", "staging"]),
])
def test_profiles_come_from_the_config_file(ask, line: str, expected: list[str]) -> None:
    assert ask(line) == ("plain", expected)


def test_the_config_file_is_the_one_the_line_or_the_environment_names(
        ask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[claret.blue]\ntenant = "b"\n')
    for line in (f"jobwatch --config {other} status claret 1 -p ",
                 f"jobwatch status claret 1 --config {other} -p ",
                 f"jobwatch status claret 1 --config={other} -p ",
                 f"jobwatch status --config {other} claret@"):
        assert ask(line)[1] in (["blue", "default", "demo"],
                                ["claret@blue:", "claret@default:", "claret@demo:"]), line
    monkeypatch.setenv("JOBWATCH_CONFIG", str(other))
    assert ask("jobwatch status claret 1 -p ") == ("plain", ["blue", "default", "demo"])
    # No file at the default path: `default`, which the environment can fill, and `demo`.
    monkeypatch.delenv("JOBWATCH_CONFIG")
    (tmp_path / "xdg" / "jobwatch" / "config.toml").unlink()
    assert ask("jobwatch -p ") == ("plain", ["default", "demo"])


@pytest.mark.parametrize("content", [
    b"[claret.default\ntenant = 1\n",
    b'[claret.default]\ntenant = "a"\nsurprise = 1\n',
    b"\xff\xfe[claret.x]\n",
], ids=["not-toml", "unknown-field", "not-utf8"])
def test_a_broken_config_offers_no_profiles_and_says_nothing(tmp_path: Path,
                                                             content: bytes) -> None:
    write_config(tmp_path).write_bytes(content)
    for line in ("jobwatch status claret 1001 -p ", "jobwatch status claret@"):
        result = subprocess.run(
            [sys.executable, "-m", "jobwatch"], cwd=tmp_path, capture_output=True, text=True,
            timeout=60, env=clean_env(tmp_path, _JOBWATCH_COMPLETE="complete_bash",
                                      _JOBWATCH_COMPLETE_LINE=line, _JOBWATCH_COMPLETE_CUR=""))
        assert (result.returncode, result.stdout, result.stderr) == (0, "plain\n", ""), line


def test_a_missing_config_named_on_the_line_offers_no_profiles(ask, tmp_path: Path) -> None:
    assert ask(f"jobwatch --config {tmp_path / 'nope.toml'} -p ") == ("plain", [])


@pytest.mark.parametrize(("line", "expected"), [
    ("jobwatch wait claret 1001 --artifacts ", ["input", "staging", "output", "errors"]),
    ("jobwatch download merchantops job_1 --artifacts ", ["errors", "warnings", "job"]),
    ("jobwatch wait claret 1001 --artifacts errors,", ["errors,input", "errors,staging",
                                                       "errors,output"]),
    ("jobwatch wait claret 1001 --artifacts errors,o", ["errors,output"]),
    ("jobwatch wait claret 1001 --artifacts=e", ["--artifacts=errors"]),
    ("jobwatch wait claret:1 merchantops:x --artifacts ",
     ["input", "staging", "output", "errors", "warnings", "job"]),
    ("jobwatch wait julep 7c9e6679-7425-40de-944b-e07fc1f90ae7 --artifacts ", []),
    ("jobwatch wait --artifacts ",
     ["errors", "warnings", "job", "input", "staging", "output"]),
])
def test_artifact_categories(ask, line: str, expected: list[str]) -> None:
    assert ask(line) == ("plain", expected)


def test_options_after_the_command_include_the_global_ones(ask) -> None:
    kind, offered = ask("jobwatch status claret 1001 -")
    assert kind == "plain"
    assert sorted(offered) == sorted(["--json", "--quiet", "-q", "--config", "--profile", "-p",
                                      "--verbose", "-v", "-h", "--help"])
    assert ask("jobwatch wait claret 1001 --p")[1] == ["--profile"]
    # Given once already: not offered again.
    assert "--json" not in ask("jobwatch status claret 1 --json --")[1]


@pytest.mark.parametrize(("line", "kind"), [
    ("jobwatch --config ", "file"),
    ("jobwatch status claret 1 --config ", "file"),
    ("jobwatch status claret 1 --config=", "file"),
    ("jobwatch wait claret 1 --download-dir ", "dir"),
    ("jobwatch download claret 1 --download-dir=./o", "dir"),
])
def test_paths_are_left_to_the_shell(ask, line: str, kind: str) -> None:
    assert ask(line) == (kind, [])


@pytest.mark.parametrize(("line", "cur", "expected"), [
    # bash breaks words at ':', '@' and '=' (its $2 is the rest): the candidates fit it.
    ("jobwatch status claret@", "@", ["@ci:", "@default:", "@demo:", "@staging:"]),
    ("jobwatch status claret@st", "@st", ["@staging:"]),
    ("jobwatch wait claret:1 claret@", "@", ["@ci:", "@default:", "@demo:", "@staging:"]),
    ("jobwatch status claret 1 --profile=s", "s", ["staging"]),
    ("jobwatch wait claret 1 --artifacts=errors,", "errors,",
     ["errors,input", "errors,staging", "errors,output"]),
    # With ':' and '@' out of COMP_WORDBREAKS, the whole word.
    ("jobwatch status claret@", "claret@",
        ["claret@ci:", "claret@default:", "claret@demo:", "claret@staging:"]),
    ('jobwatch status "claret@st', "claret@st", ["claret@staging:"]),
    ("jobwatch status cla", "cla", ["claret"]),
])
def test_bash_gets_the_part_of_the_word_it_replaces(ask, line: str, cur: str,
                                                    expected: list[str]) -> None:
    assert ask(line, shell="bash", cur=cur) == ("plain", expected)


def test_help_goes_to_zsh_and_fish_only() -> None:
    cli = get_command(app)
    zsh = respond(cli, {}, "jobwatch", "zsh", "jobwatch stat")
    assert zsh == "plain\nstatus\tShow jobs' state, progress and message, once.\n"
    assert respond(cli, {}, "jobwatch", "fish", "jobwatch stat") == zsh
    assert respond(cli, {}, "jobwatch", "bash", "jobwatch stat", "stat") == "plain\nstatus\n"


def test_a_profile_name_bash_would_split_arrives_escaped(ask, tmp_path: Path) -> None:
    write_config(tmp_path, '[claret."my team"]\ntenant = "t"\n')
    assert ask("jobwatch status claret 1 -p my", shell="bash", cur="my") == (
        "plain", ["my\\ team"])
    assert ask("jobwatch status claret 1 -p my") == ("plain", ["my team"])


@pytest.mark.parametrize("line", [
    "jobwatch --version ", "jobwatch --help ", "jobwatch status claret 1 --help ",
    "jobwatch --show-completion ", "jobwatch --install-completion ", "jobwatch nosuch ",
    "jobwatch status claret 1 -- ", "jobwatch status 'claret@", "jobwatch \\",
])
def test_odd_lines_get_an_answer_and_no_output_of_their_own(ask, tmp_path: Path,
                                                           line: str) -> None:
    kind, _ = ask(line)
    assert kind == "plain"
    assert not (tmp_path / "home").exists()  # --install-completion did not run


def _protocol(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    write_config(tmp_path)
    return subprocess.run([sys.executable, "-m", "jobwatch"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=clean_env(tmp_path, **env))


def test_the_console_script_answers_a_script(tmp_path: Path) -> None:
    result = _protocol(tmp_path, _JOBWATCH_COMPLETE="complete_bash",
                       _JOBWATCH_COMPLETE_LINE="jobwatch status claret@s",
                       _JOBWATCH_COMPLETE_CUR="@s")
    assert (result.returncode, result.stdout, result.stderr) == (0, "plain\n@staging:\n", "")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_source_instruction_prints_the_script(tmp_path: Path, shell: str) -> None:
    result = _protocol(tmp_path, _JOBWATCH_COMPLETE=f"source_{shell}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == completions.script(shell)


def test_scripts_typer_wrote_still_get_answers(tmp_path: Path) -> None:
    # `--install-completion` of an older jobwatch wrote Typer's scripts: they send
    # COMP_WORDS/COMP_CWORD (bash) or _TYPER_COMPLETE_ARGS (zsh, fish) and no LINE.
    bash = _protocol(tmp_path, _JOBWATCH_COMPLETE="complete_bash",
                     COMP_WORDS="jobwatch status ", COMP_CWORD="2")
    assert (bash.returncode, bash.stdout.split(), bash.stderr) == (0, PROVIDERS, "")
    fish = _protocol(tmp_path, _JOBWATCH_COMPLETE="complete_fish",
                     _TYPER_COMPLETE_FISH_ACTION="get-args",
                     _TYPER_COMPLETE_ARGS="jobwatch status claret 1 -p ")
    assert (fish.returncode, fish.stdout.split(), fish.stderr) == (
        0, ["ci", "default", "demo", "eu", "staging"], "")
