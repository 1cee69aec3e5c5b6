"""What every command shares: the global options (declared once, accepted before the command
and after it, parsed by Click wherever they stand), the run's Runtime built from them, plain
usage lines, and the examples under each help text."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, MutableMapping
from typing import Annotated, Any

import typer
from typer._click import Context, Parameter
from typer._click.core import ParameterSource
from typer.core import TyperCommand, TyperGroup

from jobwatch.registry import names_text
from jobwatch.runtime import Runtime

GLOBAL_NAMES = ("config", "profile", "verbose")


def examples(*commands: str) -> str:
    """A command's epilog. Click rewraps every paragraph to 80 columns at most, which would
    break a long example in two where it is pasted from; a paragraph after a lone '\\b' line
    is left as written. Keep each example under 76 columns."""
    return "Examples:\n\n" + "\n\n".join(f"\b\n  {command}" for command in commands)


def _complete_profile(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    from jobwatch.commands.complete import profile_names

    return profile_names(ctx, incomplete)


# Tab completes what an option's autocompletion= gives; files where the metavar is PATH,
# directories where it is DIR (jobwatch.commands.complete); nothing for any other value.
ConfigOpt = Annotated[str | None, typer.Option(
    "--config", metavar="PATH",
    help="Config file (default: ~/.config/jobwatch/config.toml; env: JOBWATCH_CONFIG).")]
ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", "-p", metavar="NAME", autocompletion=_complete_profile,
    help="Profile within each provider's config sections (default: default; env: "
         "JOBWATCH_PROFILE).")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="One stderr line per HTTP request (secrets redacted).")]


@functools.lru_cache(maxsize=1)
def global_options() -> tuple[Parameter, ...]:
    """`--config`, `--profile/-p`, `--verbose/-v`, as Typer makes them from the annotations
    above (declared once; every command and group shares the same objects, which hold no
    state of a run). No envvar=: Runtime.from_options reads JOBWATCH_CONFIG and
    JOBWATCH_PROFILE (an empty one is unset), below whatever the command line says."""
    from typer.main import get_command

    def declared(config: ConfigOpt = None, profile: ProfileOpt = None,
                 verbose: VerboseOpt = False) -> None: ...

    probe = typer.Typer(add_completion=False)
    probe.command()(declared)
    return tuple(get_command(probe).params)


def _take_globals(ctx: Context) -> None:
    """Move this level's global options out of the parameters Typer passes on, into the
    chain the command reads them from (ctx.meta is shared by every level of one run)."""
    given = ctx.meta.setdefault("jobwatch.globals", [])
    for name in GLOBAL_NAMES:
        if name in ctx.params:
            given.append((name, ctx.params.pop(name), ctx.get_parameter_source(name)))


def chosen_globals(ctx: Context) -> dict[str, Any]:
    """For each global option, the last one given on the command line (`jobwatch -p a status
    claret 1 -p b` is profile b); None (False) where none was given."""
    chosen: dict[str, Any] = {"config": None, "profile": None, "verbose": False}
    for name, value, source in ctx.meta.get("jobwatch.globals", []):
        if source is not ParameterSource.COMMANDLINE:
            continue
        # -v at either level turns it on; a value given later replaces an earlier one.
        chosen[name] = (chosen[name] or value) if name == "verbose" else value
    return chosen


def runtime_for(ctx: Context) -> Runtime:
    """The run's Runtime: each global option from the command line, else its environment
    variable, else the default."""
    chosen = chosen_globals(ctx)
    # __main__ passes the set of secrets its last-resort error line must redact.
    root = ctx.find_root()
    secrets = root.obj if isinstance(root.obj, set) else set()
    return Runtime.from_options(config=chosen["config"], profile=chosen["profile"],
                                verbose=chosen["verbose"], secrets=secrets)


class JobwatchCommand(TyperCommand):
    """A command that takes the global options too, and writes its usage line as Click and
    every man page do (`status [OPTIONS] JOBS...`; Typer 0.29 wraps required arguments in
    braces, which reads as a choice)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += list(global_options())

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return list(_plain(super().collect_usage_pieces(ctx)))

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return _parse_in(ctx, lambda: super(JobwatchCommand, self).parse_args(ctx, args))

    def invoke(self, ctx: Context) -> Any:
        from jobwatch.errors import Interrupted

        _take_globals(ctx)
        ctx.obj = runtime_for(ctx)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted from None


class JobwatchGroup(TyperGroup):
    """The top level and `config`: the global options are taken here too, before the command
    name (`jobwatch -p staging status ...`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += list(global_options())

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return _parse_in(ctx, lambda: super(JobwatchGroup, self).parse_args(ctx, args))

    def invoke(self, ctx: Context) -> Any:
        _take_globals(ctx)
        return super().invoke(ctx)

    def _main_shell_completion(self, ctx_args: MutableMapping[str, Any], prog_name: str,
                               complete_var: str | None = None) -> None:
        """Tab: the shipped scripts speak their own protocol (bash breaks words at ':' and
        '@'; Typer's loses them), answered in jobwatch.commands.complete."""
        var = complete_var or f"_{prog_name}_COMPLETE".replace("-", "_").upper()
        if not os.environ.get(var):
            return  # every run that is not a completion script asking: nothing to import
        from jobwatch.commands.complete import shell_complete

        shell_complete(self, ctx_args, prog_name, complete_var)


def _parse_in(ctx: Context, parse: Callable[[], list[str]]) -> list[str]:
    """Click's parser raises "Option '-p' requires an argument." without the command it was
    parsing; ours says which, so the hint names `jobwatch status --help`, not the top level."""
    from typer._click.exceptions import UsageError

    try:
        return parse()
    except UsageError as exc:
        if exc.ctx is None:
            exc.ctx = ctx
        raise


def _plain(pieces: list[str]) -> Iterator[str]:
    for piece in pieces:
        yield piece[1:].replace("}", "", 1) if piece.startswith("{") else piece


def runtime(ctx: typer.Context) -> Runtime:
    """The Runtime JobwatchCommand built for this run."""
    found = ctx.obj
    if not isinstance(found, Runtime):  # a command registered without JobwatchCommand
        raise TypeError("the command was not registered with cls=JobwatchCommand")
    return found


def _complete_jobs(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    from jobwatch.commands.complete import job_refs

    return job_refs(ctx, incomplete)


def _complete_categories(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    from jobwatch.commands.complete import categories

    return categories(ctx, incomplete)


# Described in each command's help text and hidden from Typer's "Arguments" list, which would
# show it with a Python type name.
JobsArg = Annotated[list[str], typer.Argument(
    metavar="JOBS", hidden=True, show_default=False, autocompletion=_complete_jobs)]
JOBS_HELP = (f"JOBS is PROVIDER JOB_ID... ({names_text()}, then its job ids), or "
             "PROVIDER[@PROFILE]:JOB_ID..., which may mix providers and profiles (a "
             "reference's own @PROFILE wins over --profile for its job); - reads them from "
             "stdin, one per line. `jobwatch providers` shows each provider's id form.")
DirOpt = Annotated[str | None, typer.Option(
    "--download-dir", metavar="DIR",
    help="Where artifacts go (default: defaults.download_dir, else the current directory).")]
ArtifactsOpt = Annotated[str | None, typer.Option(
    "--artifacts", metavar="CATEGORY,...", autocompletion=_complete_categories,
    help="Only these categories: input, staging, output, errors (Claret); errors, warnings, "
         "job (MerchantOps).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the normalized job as JSON.")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print nothing but errors; use the exit code.")]
