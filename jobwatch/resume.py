"""The commands that pick up where a stopped `wait` or `download` left off.

The options are taken from the Click command that ran (what the user typed, as typed), so a
new option is repeated without a table of names to keep in step. A resume command lists the
jobs that had not ended (`wait`) and those that ended without all their files (`download`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typer._click import Context

    from jobwatch.engine import Watch

# Options never repeated: --on-end runs code (a resume must not run it again unasked), and the
# global ones are given from the resolved run (profile, config) instead.
NEVER_REPEATED = frozenset({"on_end", "config", "profile", "verbose", "help"})
# Of `wait`'s options, those `download` takes too.
DOWNLOAD_OPTIONS = frozenset({"download_dir", "artifacts", "json_output", "quiet"})
# Past this many characters a command is hard to paste into a shell: the jobs are fed to `-`
# from a here-document instead.
LONGEST_COMMAND = 4000
HEREDOC_END = "JOBWATCH_JOBS"


@dataclass(frozen=True)
class Resume:
    """What a resume command repeats: the options given on the command line, and the run's
    profile and config file."""

    options: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (parameter name, its words)
    profile: str = "default"
    config: str | None = None
    common: tuple[str, ...] = ()

    @classmethod
    def from_context(cls, ctx: Context | None, profile: str = "default",
                     config: str | None = None, verbose: bool = False) -> Resume:
        return cls.given(given_options(ctx) if ctx is not None else [], profile, config,
                         verbose)

    @classmethod
    def given(cls, options: Iterable[tuple[str, tuple[str, ...]]], profile: str = "default",
              config: str | None = None, verbose: bool = False) -> Resume:
        """From the options as given_options reads them (jobwatch.fastpath reads them too),
        and the run's global options, however they were given (flag or environment)."""
        common = (["--profile", profile] if profile != "default" else []) + (
            ["--config", config] if config else []) + (["--verbose"] if verbose else [])
        return cls(tuple(options), profile, config, tuple(common))

    def words(self, names: Iterable[str] | None = None) -> list[str]:
        chosen = None if names is None else set(names)
        words = list(self.common)
        for name, option in self.options:
            if chosen is None or name in chosen:
                words += option
        return words


def given_options(ctx: Context) -> list[tuple[str, tuple[str, ...]]]:
    """Each option the user gave on the command line, as words to type again, in the order
    the command declares them."""
    from typer._click.core import ParameterSource

    found: list[tuple[str, tuple[str, ...]]] = []
    for param in ctx.command.params:
        name = param.name
        if (name is None or name in NEVER_REPEATED or param.param_type_name != "option"
                or ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE):
            continue
        value = ctx.params.get(name)
        flag = max(param.opts, key=len)  # the long form reads best in a note
        if getattr(param, "is_flag", False):
            if value:
                found.append((name, (flag,)))
            elif getattr(param, "secondary_opts", None):
                found.append((name, (max(param.secondary_opts, key=len),)))
        elif value is not None:
            values = value if getattr(param, "multiple", False) else [value]
            found.append((name, tuple(w for v in values for w in (flag, str(v)))))
    return found


def resume_commands(resume: Resume, watches: Sequence[Watch]) -> list[str]:
    """`wait` for the jobs that had not ended (a related job through its parent, while the
    parent runs), then `download` for the jobs that ended without all their files."""
    listed: list[Watch] = []
    for watch in watches:
        if watch.outcome not in ("interrupted", "timeout") or watch.ended:
            continue
        if watch.parent is not None and any(p is watch.parent for p in listed):
            continue  # --follow-related finds it again from its parent
        listed.append(watch)
    cut = [w for w in watches if w.ended and (w.downloads_cut or w.outcome in ("interrupted",
                                                                              "timeout"))]
    commands = []
    if listed:
        commands.append(command("wait", listed, resume.words(), resume.profile))
    if cut:
        commands.append(command("download", cut, resume.words(DOWNLOAD_OPTIONS),
                                resume.profile))
    return commands


def command(verb: str, watches: Sequence[Watch], options: list[str], profile: str) -> str:
    """`jobwatch VERB PROVIDER IDS OPTIONS` for one provider and profile, else references
    (`claret:1 merchantops@staging:x`); a here-document feeding `-` when that is too long."""
    groups = {(w.provider, w.profile) for w in watches}
    if len(groups) == 1:
        provider, own = next(iter(groups))
        head = [provider if own == profile else f"{provider}@{own}"]
        items = [w.job_id for w in watches]
    else:
        head = []
        items = [reference(w, profile) for w in watches]
    if any(item.startswith("-") for item in items):
        # After `--`, or an id like `-mo_600` would be read as an option.
        line = shlex.join(["jobwatch", verb, *head, *options, "--", *items])
    else:
        line = shlex.join(["jobwatch", verb, *head, *items, *options])
    if len(line) <= LONGEST_COMMAND or any(_unsafe_line(item) for item in items):
        return line
    end = HEREDOC_END
    while end in items:
        end += "_"
    return "\n".join([shlex.join(["jobwatch", verb, *head, "-", *options]) + f" <<'{end}'",
                      *items, end])


def reference(watch: Watch, profile: str) -> str:
    at = "" if watch.profile == profile else f"@{watch.profile}"
    return f"{watch.provider}{at}:{watch.job_id}"


def _unsafe_line(item: str) -> bool:
    """An id stdin would not give back as it is: `#` starts a comment there, and the
    surrounding whitespace is trimmed."""
    return item.startswith("#") or item != item.strip() or "\n" in item
