"""Shell completion scripts for bash, zsh and fish, as Typer writes them for this app.

`python -m jobwatch.completions` rewrites the committed copies in completions/;
`python -m jobwatch.completions --check` only says whether they are current (exit 1 if not).
The scripts are thin: at each Tab they run `jobwatch` with _JOBWATCH_COMPLETE set, and the Typer
app answers, so new commands and options complete without regenerating anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Click derives the variable it reads from the prog name that __main__ passes: keep them paired.
PROG_NAME = "jobwatch"
COMPLETE_VAR = "_JOBWATCH_COMPLETE"
FILES = {"bash": "jobwatch.bash", "zsh": "_jobwatch", "fish": "jobwatch.fish"}
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "completions"


def script(shell: str) -> str:
    """The script `jobwatch --show-completion SHELL` prints, ending with a newline."""
    from typer._completion_shared import get_completion_script

    from jobwatch.commands import app

    if app.info.name != PROG_NAME:  # a renamed app would need a new COMPLETE_VAR too
        raise RuntimeError(f"the Typer app is named {app.info.name!r}, not {PROG_NAME!r}")
    return get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR,
                                 shell=shell) + "\n"


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
