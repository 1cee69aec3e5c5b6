"""Shell completion scripts for bash, zsh and fish, and where `--install-completion` puts them.

`python -m jobwatch.completions` rewrites the committed copies in completions/;
`python -m jobwatch.completions --check` only says whether they are current (exit 1 if not).
The scripts are thin: at each Tab they run `jobwatch` with the line typed so far, and
jobwatch.commands.complete answers (the protocol is written there), so new commands and options
complete without regenerating anything. They are ours, not Typer's: Typer's bash script hands
over words bash has already broken at ':' and '@', falls back to file names where nothing fits,
and its zsh script cannot offer option names.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROG_NAME = "jobwatch"
COMPLETE_VAR = "_JOBWATCH_COMPLETE"  # Click derives it from PROG_NAME: keep them paired
FILES = {"bash": "jobwatch.bash", "zsh": "_jobwatch", "fish": "jobwatch.fish"}
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "completions"
_HEADER = ("Written by `python -m jobwatch.completions` (jobwatch/completions.py): edit it "
           "there.\n# At each Tab it asks `jobwatch` what may go there "
           "(jobwatch/commands/complete.py).")

BASH = rf"""# bash completion for jobwatch (bash 4.4 or newer; needs no bash-completion package).
# {_HEADER}
# jobwatch gets the line up to the cursor and splits it itself: bash has broken its words at
# ':', '@' and '=' (COMP_WORDBREAKS), which would cut `claret@staging:88` in five. The answers
# come back cut to the part of the word bash replaces ($2), so they fit whatever breaks are set.

_jobwatch_completion() {{
    local -a answer
    mapfile -t answer < <({COMPLETE_VAR}=complete_bash \
        {COMPLETE_VAR}_LINE="${{COMP_LINE:0:COMP_POINT}}" \
        {COMPLETE_VAR}_CUR="$2" "$1" 2>/dev/null)
    COMPREPLY=()
    case ${{answer[0]-}} in
        file) compopt -o filenames; mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
        dir) compopt -o filenames; mapfile -t COMPREPLY < <(compgen -d -- "$2") ;;
        plain)
            COMPREPLY=("${{answer[@]:1}}")
            local candidate
            for candidate in "${{COMPREPLY[@]}}"; do
                # `claret:` and `claret@` go on with an id or a profile: no space after them.
                if [[ $candidate == *[:@] ]]; then compopt -o nospace; break; fi
            done ;;
    esac
    return 0
}}

complete -F _jobwatch_completion jobwatch
"""

ZSH = rf"""#compdef jobwatch
# zsh completion for jobwatch: on $fpath as _jobwatch, or sourced after compinit.
# {_HEADER}

_jobwatch() {{
    local -a answer plain glued
    local line value typed="${{words[1,CURRENT-1]}} ${{(q)${{(Q)PREFIX}}}}"
    answer=("${{(@f)$({COMPLETE_VAR}=complete_zsh {COMPLETE_VAR}_LINE=$typed \
        jobwatch 2>/dev/null)}}")
    case $answer[1] in
        (file|dir)
            [[ $PREFIX == -*=* ]] && compset -P '*='  # --config=PATH
            if [[ $answer[1] == dir ]]; then _files -/; else _files; fi ;;
        (plain)
            for line in "${{(@)answer[2,-1]}}"; do
                value=${{line%%$'\t'*}}
                # _describe reads `value:help`, a colon in the value escaped.
                if [[ $line == *$'\t'* ]]; then
                    line="${{value//:/\\:}}:${{line#*$'\t'}}"
                else
                    line=${{value//:/\\:}}
                fi
                # `claret:` and `claret@` go on with an id or a profile: no space after them.
                if [[ $value == *[:@] ]]; then glued+=("$line"); else plain+=("$line"); fi
            done
            _describe -t jobwatch jobwatch plain -- glued -S '' ;;
    esac
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _jobwatch "$@"  # autoloaded from $fpath at the first Tab: answer it too
else
    compdef _jobwatch jobwatch
fi
"""

FISH = rf"""# fish completion for jobwatch.
# {_HEADER}

function __jobwatch_complete
    set -lx {COMPLETE_VAR} complete_fish
    set -lx {COMPLETE_VAR}_LINE (commandline -cp)
    set -l answer (jobwatch 2>/dev/null)
    set -l kind $answer[1]
    set -e answer[1]
    set -l token (commandline -ct)
    set -l head (string replace -r -- '^(-[^=]*=)?.*$' '$1' "$token")  # --config=PATH
    set -l path (string replace -r -- '^-[^=]*=' '' "$token")
    switch "$kind"
        case file
            for candidate in (__fish_complete_path "$path")
                echo "$head$candidate"
            end
        case dir
            for candidate in (__fish_complete_directories "$path")
                echo "$head$candidate"
            end
        case plain
            for candidate in $answer
                echo $candidate
            end
    end
end

complete -c jobwatch -e
complete -c jobwatch -f -k -a '(__jobwatch_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def script(shell: str) -> str:
    """The script for `shell`, as committed in completions/ and installed."""
    return SCRIPTS[shell]


def generate() -> dict[str, str]:
    """File name in completions/ -> its content."""
    return {name: script(shell) for shell, name in FILES.items()}


def stale(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of the files in `directory` that are missing or differ from what generate() gives."""
    found = []
    for name, text in generate().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            found.append(name)
    return found


def write(directory: Path = DEFAULT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


# -- jobwatch --show-completion / --install-completion ----------------------------------------


def detect_shell() -> str:
    """The shell jobwatch runs under: the process tree says (shellingham, which Typer brings),
    else $SHELL. A UsageError when it is none of bash, zsh and fish."""
    from jobwatch.errors import UsageError

    name = ""
    try:
        import shellingham  # type: ignore[import-untyped]  # Typer depends on it

        name = shellingham.detect_shell()[0]
    except (ImportError, OSError):  # ShellDetectionFailure is an OSError
        name = Path(os.environ.get("SHELL", "")).name
    if name not in SCRIPTS:
        raise UsageError(f"cannot complete for this shell ({name or 'not detected'})",
                         hint="jobwatch completes in bash, zsh and fish; run it from one")
    return name


def install_here() -> None:
    """`jobwatch --install-completion`: for the shell it runs under; says where on stderr."""
    shell = detect_shell()
    target, *changed = install(shell)
    sys.stderr.write(f"{shell} completion installed in {target}"
                     + "".join(f"; {rc} loads it" for rc in changed)
                     + "\nit takes effect in the next shell you open\n")


def install(shell: str, home: Path | None = None) -> list[Path]:
    """Write the script where `shell` finds it, and the line that loads it where one is
    needed; the files written or changed."""
    home = Path.home() if home is None else home
    if shell == "fish":  # fish reads $__fish_config_dir, which follows XDG_CONFIG_HOME
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        return [_write(config / "fish" / "completions" / FILES["fish"], script("fish"))]
    if shell == "zsh":
        target = _write(home / ".zfunc" / FILES["zsh"], script("zsh"))
        return [target, *_ensure_line(home / ".zshrc",
                                      "fpath+=~/.zfunc; autoload -Uz compinit; compinit")]
    target = _write(home / ".bash_completions" / "jobwatch.sh", script("bash"))
    return [target, *_ensure_line(home / ".bashrc", f"source '{target}'")]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def _ensure_line(rc: Path, line: str) -> list[Path]:
    text = rc.read_text(encoding="utf-8") if rc.is_file() else ""
    if line in text.splitlines():
        return []
    rc.parent.mkdir(parents=True, exist_ok=True)
    with rc.open("a", encoding="utf-8") as out:
        out.write(("" if not text or text.endswith("\n") else "\n") + line + "\n")
    return [rc]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        sys.stderr.write("usage: python -m jobwatch.completions [--check]\n")
        return 2
    if args == ["--check"]:
        outdated = stale()
        for name in outdated:
            sys.stderr.write(f"completions/{name} is out of date; "
                             "run: python -m jobwatch.completions\n")
        return 1 if outdated else 0
    for path in write():
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
