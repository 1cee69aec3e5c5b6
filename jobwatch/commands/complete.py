"""What Tab offers, and how the shipped scripts ask for it.

Offered: the commands; an option's names after `-`; providers and the job reference forms for
JOBS (`claret`, then `claret:` and `claret@`, then `claret@staging:`); profile names from the
config file after `-p`/`--profile`; artifact categories after `--artifacts`, after a comma too;
files or directories for an option whose metavar is PATH or DIR. Nothing anywhere else (a job
id, a duration): never file names where they cannot go.

The scripts in completions/ (jobwatch.completions writes them) run `jobwatch` at each Tab with:

  _JOBWATCH_COMPLETE=complete_bash|complete_zsh|complete_fish
  _JOBWATCH_COMPLETE_LINE  the command line up to the cursor, as typed: split here, because
                           bash has already broken its words at ':', '@' and '='
  _JOBWATCH_COMPLETE_CUR   bash only: the text bash replaces (its $2, which starts after the
                           last ':' or '='), so the candidates are cut to fit it

and read the answer on stdout: a first line `plain`, `file` or `dir` (the shell completes
paths itself), then for `plain` one candidate per line, the whole word, with `TAB help` for
zsh and fish. A script Typer wrote (an older `--install-completion`) sends no LINE; Typer's
own protocol answers it.

Each answer is computed while someone waits at a prompt, so nothing here may fail loudly:
no answer is better than a traceback in the middle of a command line.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from typer._click import Command, Context, Parameter
from typer.core import TyperOption as Option

from jobwatch.providers import PROVIDERS

SHELLS = ("bash", "zsh", "fish")
LINE_VAR = "_JOBWATCH_COMPLETE_LINE"
CUR_VAR = "_JOBWATCH_COMPLETE_CUR"
# An option whose metavar is one of these completes paths; any other completes what its
# autocompletion function gives, or nothing.
PATH_METAVARS = {"PATH": "file", "FILE": "file", "DIR": "dir"}
_TYPED = "jobwatch.completion.words"  # ctx.meta key: the words typed before the current one
# Appended to the line before splitting, to show where the cursor's word starts; no
# environment variable can hold one, so no line does.
_END = "\0"


@dataclass
class Answer:
    kind: str = "plain"  # or "file", "dir": the shell completes paths itself
    items: list[tuple[str, str | None]] = field(default_factory=list)  # (whole word, help)


def shell_complete(cli: Command, ctx_args: MutableMapping[str, Any], prog_name: str,
                   complete_var: str | None) -> None:
    """When a completion script is asking (its variable is set), answer and exit."""
    var = complete_var or f"_{prog_name}_COMPLETE".replace("-", "_").upper()
    instruction = os.environ.get(var)
    if not instruction:
        return
    action, _, shell = instruction.partition("_")
    if action == "complete" and shell in SHELLS and LINE_VAR in os.environ:
        sys.stdout.write(respond(cli, ctx_args, prog_name, shell, os.environ[LINE_VAR],
                                 os.environ.get(CUR_VAR)))
        sys.stdout.flush()
        sys.exit(0)
    if action == "source" and shell in SHELLS:
        from jobwatch.completions import script

        sys.stdout.write(script(shell))
        sys.exit(0)
    from typer._completion_classes import completion_init
    from typer.completion import shell_complete as typer_shell_complete

    completion_init()  # Typer registers its protocol's classes only for its own options
    sys.exit(typer_shell_complete(cli, ctx_args, prog_name, var, instruction))


def respond(cli: Command, ctx_args: MutableMapping[str, Any], prog_name: str, shell: str,
            line: str, cur: str | None = None) -> str:
    """The text a script reads: what to offer for the word at the end of `line`."""
    args, word = split_line(line)
    # Whatever a completion function or a parameter callback might print or raise stays
    # here: the shell gets an answer it can read, or none.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            answer = complete_words(cli, ctx_args, prog_name, args, word)
        except (Exception, SystemExit):  # SystemExit: a callback's exit (`--version <Tab>`)
            answer = Answer()
    return format_answer(answer, shell, word, cur)


def split_line(line: str) -> tuple[list[str], str]:
    """The words after the program's name and before the cursor's word, and the cursor's
    word up to the cursor, quotes and escapes removed as the shell will remove them."""
    from typer._click.shell_completion import split_arg_string

    words = split_arg_string(line + _END)
    word = words.pop()
    return words[1:], word[:-1] if word.endswith(_END) else word


def complete_words(cli: Command, ctx_args: MutableMapping[str, Any], prog_name: str,
                   args: list[str], word: str) -> Answer:
    """Click finds the command and the parameter the word belongs to; that parameter says
    what may go there."""
    from typer._click.shell_completion import _resolve_context, _resolve_incomplete

    ctx = _resolve_context(cli, dict(ctx_args), prog_name, list(args))
    ctx.meta[_TYPED] = list(args)
    target, value = _resolve_incomplete(ctx, list(args), word)
    kind = path_kind(target)
    if kind is not None:
        return Answer(kind)
    # `--profile=st`: the value is what follows '='; the candidates are whole words.
    head = word[:len(word) - len(value)]
    return Answer(items=[(head + str(item.value), item.help)
                         for item in target.shell_complete(ctx, value)])


def path_kind(target: Command | Parameter) -> str | None:
    """"file" or "dir" for an option whose value is a path (its metavar says so)."""
    return PATH_METAVARS.get(target.metavar or "") if isinstance(target, Option) else None


def format_answer(answer: Answer, shell: str, word: str, cur: str | None) -> str:
    lines = [answer.kind]
    # bash replaces only `cur`, the end of the word after its last break character
    # (`claret@st` -> `@st`, `claret:` -> ``): each candidate loses what comes before.
    cut = len(word) - len(cur) if cur is not None and word.endswith(cur) else 0
    for value, help_text in answer.items:
        if "\n" in value or "\t" in value or not value.startswith(word[:cut]):
            continue
        if shell == "bash":
            lines.append(_bash_escape(value[cut:]))
        elif help_text:
            lines.append(f"{value}\t{' '.join(help_text.split())}")
        else:
            lines.append(value)
    return "\n".join(lines) + "\n"


def _bash_escape(value: str) -> str:
    """bash inserts a candidate as it is: a profile named `a b` must arrive as `a\\ b`."""
    return "".join(c if c.isalnum() or c in "@%+=:,./_-" else "\\" + c for c in value)


# -- what the words typed so far say ----------------------------------------------------------


@dataclass
class Typed:
    operands: list[str]  # the words that are not options or their values: command names too
    values: dict[str, list[str]]  # parameter name -> the values given, in order


def typed(ctx: Context) -> Typed:
    """Read the words before the cursor the way Click will, for the options of every level
    of the command. Not ctx.params: resilient parsing stops at the option still waiting for
    its value (`jobwatch status claret 1 -p <Tab>` has parsed no JOBS)."""
    takes: dict[str, tuple[str, bool]] = {}
    node: Context | None = ctx
    while node is not None:
        for param in node.command.get_params(node):
            if isinstance(param, Option) and param.name:
                for opt in (*param.opts, *param.secondary_opts):
                    takes.setdefault(opt, (param.name, not (param.is_flag or param.count)))
        node = node.parent
    result = Typed([], {})
    words = iter(ctx.meta.get(_TYPED, []))
    for word in words:
        if word == "--":
            result.operands.extend(words)
            break
        if word == "-" or not word.startswith("-"):
            result.operands.append(word)
            continue
        option, value = _split_option(word, takes)
        dest, needs_value = takes.get(option, ("", False))
        if needs_value:
            value = value if value is not None else next(words, None)
            if value is not None:
                result.values.setdefault(dest, []).append(value)
    return result


def _split_option(word: str, takes: dict[str, tuple[str, bool]]) -> tuple[str, str | None]:
    """`--name=value` -> (--name, value); `-pstaging` -> (-p, staging); `-vp` -> (-p, None),
    as Click's parser reads them."""
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        return name, value if eq else None
    for i in range(1, len(word)):
        if takes.get(f"-{word[i]}", ("", False))[1]:
            return f"-{word[i]}", word[i + 1:] or None
    return word, None


def _depth(ctx: Context) -> int:
    """How many command names lead to this command (`jobwatch config show`: 2)."""
    depth, node = 0, ctx.parent
    while node is not None:
        depth, node = depth + 1, node.parent
    return depth


def _jobs(ctx: Context) -> list[str]:
    return typed(ctx).operands[_depth(ctx):]


def _providers_of(jobs: list[str], *, profile_given: bool = True) -> list[str]:
    """The providers the jobs name, in their order (with profile_given=False, only the
    references whose profile --profile decides: not `claret@staging:1`)."""
    if jobs and ":" not in jobs[0]:
        named = [jobs[0]]
    else:
        named = [job.partition(":")[0] for job in jobs if ":" in job]
        if not profile_given:
            named = [name for name in named if "@" not in name]
    found = [name.partition("@")[0].lower() for name in named]
    return [p for p in dict.fromkeys(found) if p in PROVIDERS]


# -- the completion functions the parameters declare (commands/base.py) ----------------------


def job_refs(ctx: Context, incomplete: str) -> list[str]:
    """A word of JOBS: first the provider names; a whole provider name also as `provider:`
    and `provider@` (the reference forms), which are all that may follow a reference; after
    `provider@`, the profiles as `provider@profile:`. After a provider alone come its ids,
    which only it knows."""
    given = _jobs(ctx)
    if given and ":" not in given[0]:
        return []
    name, at, profile = incomplete.partition("@")
    if at:
        if name.lower() not in PROVIDERS or ":" in profile:
            return []
        return [f"{name}@{p}:" for p in _profiles(ctx, [name.lower()]) if p.startswith(profile)]
    if ":" in incomplete:
        return []
    word = incomplete.lower()
    if given:  # after a reference, only references
        return [f"{p}{form}" for p in PROVIDERS if p.startswith(word) for form in ":@"]
    if word in PROVIDERS:
        return [word, f"{word}:", f"{word}@"]
    return [p for p in PROVIDERS if p.startswith(word)]


def profile_names(ctx: Context, incomplete: str) -> list[str]:
    """After `-p`/`--profile`: the profiles of the providers on the command line whose
    profile it chooses (of every provider when none is there yet)."""
    providers = _providers_of(_jobs(ctx), profile_given=False) or list(PROVIDERS)
    return [name for name in _profiles(ctx, providers) if name.startswith(incomplete)]


def categories(ctx: Context, incomplete: str) -> list[str]:
    """After `--artifacts`: the categories of the providers on the command line (all of
    them when none is given yet), completing the last of a comma-separated list."""
    from jobwatch.registry import REGISTRY

    providers = _providers_of(_jobs(ctx)) or list(PROVIDERS)
    known = list(dict.fromkeys(c for p in providers
                               for c in REGISTRY[p].load().artifact_categories))
    done, comma, last = incomplete.rpartition(",")
    taken = set(done.split(","))
    return [done + comma + c for c in known if c.startswith(last) and c not in taken]


def _profiles(ctx: Context, providers: list[str]) -> list[str]:
    """`default` (always a profile: the environment can supply its fields), `demo` (the
    simulator of `jobwatch demo --serve`) and the profiles the config file names for these
    providers, sorted. The file is the one --config names
    (before the command or after it), else JOBWATCH_CONFIG, else the default path; none when
    it cannot be read or is not valid."""
    from jobwatch.config import load_file
    from jobwatch.config import profile_names as named_in
    from jobwatch.errors import JobwatchError

    given = typed(ctx).values.get("config")
    try:
        config = load_file(given[-1] if given else None)
    except (JobwatchError, OSError):
        return []
    return sorted({"default", "demo", *(n for p in providers for n in named_in(config, p))})
