"""The Typer app: the global options and the command table. The commands live in jobs.py
(status, wait, download, providers), config_cmd.py and demo_cmd.py."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from jobwatch import __version__
from jobwatch.runtime import Runtime

app = typer.Typer(
    name="jobwatch",
    help="Watch long-running jobs on Retailgrid, MerchantOps, Julep and Claret until they end.\n\n"
         "Examples:\n\n"
         "  jobwatch status claret 12345\n\n"
         "  jobwatch wait merchantops job_8f2c1 --timeout 10m\n\n"
         "  jobwatch demo",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Click's plain help: Typer's rich help imports markdown-it and rich's traceback machinery
    # (~60 ms, half of what `--help` costs) and shows flags as "--json <bool>".
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jobwatch {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    # No envvar=: Runtime.from_options reads JOBWATCH_CONFIG / JOBWATCH_PROFILE, for the fast
    # path and this one alike. The names are in fastpath.GLOBAL_OPTIONS too (a test checks).
    config: Annotated[Optional[str], typer.Option(  # noqa: UP045 - Typer needs Optional here
        "--config", metavar="PATH",
        help="Config file (default: ~/.config/jobwatch/config.toml; env: JOBWATCH_CONFIG)."
    )] = None,
    profile: Annotated[Optional[str], typer.Option(  # noqa: UP045 - Typer needs Optional here
        "--profile", "-p", metavar="NAME",
        help="Profile to use within the provider's config sections (default: default; env: "
             "JOBWATCH_PROFILE).")] = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="One stderr line per HTTP request (secrets redacted).")] = False,
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    # __main__ passes the set of secrets its last-resort error line must redact.
    secrets = ctx.obj if isinstance(ctx.obj, set) else set()
    ctx.obj = Runtime.from_options(config=config, profile=profile, verbose=verbose,
                                   secrets=secrets)


class _PlainUsage(TyperCommand):
    """Usage lines as Click and every man page write them, `status [OPTIONS] PROVIDER JOB_ID`;
    Typer 0.29 wraps required arguments in braces (`{PROVIDER}`), which reads as a choice."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece[1:].replace("}", "", 1) if piece.startswith("{") else piece
                for piece in super().collect_usage_pieces(ctx)]


def _register() -> None:
    from jobwatch.cli import config_cmd, demo_cmd, jobs

    app.command(cls=_PlainUsage, epilog=jobs.STATUS_EXAMPLES)(jobs.status)
    app.command(cls=_PlainUsage, epilog=jobs.WAIT_EXAMPLES)(jobs.wait)
    app.command(cls=_PlainUsage, epilog=jobs.DOWNLOAD_EXAMPLES)(jobs.download)
    app.command(epilog=jobs.PROVIDERS_EXAMPLES)(jobs.providers)
    app.add_typer(config_cmd.config_app, name="config")
    app.command(epilog=demo_cmd.DEMO_EXAMPLES)(demo_cmd.demo)


_register()
