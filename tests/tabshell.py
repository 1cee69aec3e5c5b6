"""An interactive bash or zsh on a pseudo-terminal, to press Tab in as a person does.

The shell splits the line, sets its completion variables and calls the shipped script itself;
nothing here imitates that. What the tests read back goes through files, not the screen:
after Tab, a key bound to a one-line function writes the edited line (bash's READLINE_LINE,
zsh's BUFFER) to a file, and the candidates are recorded on the way: in bash by a wrapper that
calls the shipped completion function and writes COMPREPLY, in zsh by wrapping `compadd`,
which every candidate passes through (`compadd -O` gives the words that match what is typed,
as zsh itself matches them). The shell reads its keys in order, so the line is written after
the completion has ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import NamedTuple

from tests.conftest import within

# bash: the shipped function does the work with the arguments bash gives it ($1 $2 $3); the
# wrapper only records what it left in COMPREPLY.
BASH_RECORDING = r"""
_recorded_completion() {
    _jobwatch_completion "$@"; local status=$?
    printf '%s\n' "${COMPREPLY[@]}" > "$TAB_RECORD/candidates"
    return $status
}
complete -F _recorded_completion jobwatch
_tab_write_line() {
    printf '%s' "$READLINE_LINE" > "$TAB_RECORD/.line" && mv "$TAB_RECORD/.line" "$TAB_RECORD/line"
}
bind -x '"\C-t": _tab_write_line'
"""

ZSH_RECORDING = r"""
compadd() {
    if (( ${@[(I)-O]} || ${@[(I)-A]} || ${@[(I)-D]} )); then
        builtin compadd "$@"; return
    fi
    local -a __tab_matches
    builtin compadd -O __tab_matches "$@"
    (( $#__tab_matches )) && print -rl -- $__tab_matches >> $TAB_RECORD/candidates
    builtin compadd "$@"
}
_tab_write_line() {
    print -rn -- "$BUFFER" > $TAB_RECORD/.line && mv $TAB_RECORD/.line $TAB_RECORD/line
}
zle -N _tab_write_line
bindkey '^T' _tab_write_line
"""


class Tab(NamedTuple):
    candidates: list[str]  # what the completion offered (bash: COMPREPLY, as bash inserts it)
    line: str  # the line after one Tab


class TabShell:
    """`shell` (bash or zsh) started interactively with `setup` run, then for each line typed:
    one Tab, what it offered and what the line became."""

    def __init__(self, shell: str, program: str, setup: str, env: dict[str, str],
                 cwd: Path, record: Path) -> None:
        self.shell, self.record = shell, record
        record.mkdir(parents=True, exist_ok=True)
        env = {**env, "TAB_RECORD": str(record), "TERM": "dumb", "PS1": "$ ",
               "INPUTRC": "/dev/null"}
        argv = ([program, "--norc", "--noprofile", "-i"] if shell == "bash"
                else [program, "-f", "-i"])
        master, slave = os.openpty()
        self.master = master
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        cwd=cwd, start_new_session=True)
        os.close(slave)
        self.screen = bytearray()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        recording = BASH_RECORDING if shell == "bash" else ZSH_RECORDING
        script = record / "setup"
        script.write_text(f"{setup}\n{recording}\n: > {record}/ready\n")
        self._type(f". {script}\n")
        self._wait_for(record / "ready", "the shell to start")

    def tab(self, line: str) -> Tab:
        """Type `line`, press Tab once; clear the line for the next one."""
        for name in ("candidates", "line"):
            (self.record / name).unlink(missing_ok=True)
        self._type(f"{line}\t\x14")
        text = self._wait_for(self.record / "line", f"Tab after {line!r}")
        self._type("\x01\x0b")  # start of line, kill to its end: a clean line for the next
        found = self.record / "candidates"
        candidates = found.read_text().splitlines() if found.exists() else []
        return Tab([c for c in candidates if c], text)

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        os.close(self.master)

    def _type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def _wait_for(self, path: Path, what: str) -> str:
        deadline = time.monotonic() + within(20)
        while time.monotonic() < deadline:
            if path.exists():  # renamed into place once written
                return path.read_text()
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        screen = self.screen.decode("utf-8", "replace")[-2000:]
        raise AssertionError(f"{self.shell}: no answer waiting for {what}; screen:\n{screen}")

    def _drain(self) -> None:
        # Keep reading: a pty whose output nobody reads blocks the shell once it is full.
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.screen += chunk
