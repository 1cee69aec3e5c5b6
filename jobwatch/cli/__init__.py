"""The Typer app: global options and the command table. Each command lives in its own module."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from jobwatch import __version__
from jobwatch.providers import PROVIDERS
from jobwatch.runtime import Runtime

# An Enum, so Typer validates the name and shell completion offers the four providers.
Provider = Enum("Provider", {name: name for name in PROVIDERS}, type=str)  # type: ignore[misc]


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
    config: Annotated[Optional[str], typer.Option(  # noqa: UP045 - Typer needs Optional here
        "--config", metavar="PATH", envvar="JOBWATCH_CONFIG",
        help="Config file (default: ~/.config/jobwatch/config.toml).")] = None,
    profile: Annotated[str, typer.Option(
        "--profile", "-p", envvar="JOBWATCH_PROFILE", metavar="NAME",
        help="Profile to use within the provider's config sections.")] = "default",
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="One stderr line per HTTP request (secrets redacted).")] = False,
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    # __main__ passes the set of secrets its last-resort error line must redact.
    secrets = ctx.obj if isinstance(ctx.obj, set) else set()
    ctx.obj = Runtime(config_path=config, profile=profile, verbose=verbose, secrets=secrets)


def _register() -> None:
    from jobwatch.cli import config_cmd, demo_cmd, jobs

    app.command(epilog=jobs.STATUS_EXAMPLES)(jobs.status)
    app.command(epilog=jobs.WAIT_EXAMPLES)(jobs.wait)
    app.command(epilog=jobs.DOWNLOAD_EXAMPLES)(jobs.download)
    app.command(epilog=jobs.PROVIDERS_EXAMPLES)(jobs.providers)
    app.add_typer(config_cmd.config_app, name="config")
    app.command(epilog=demo_cmd.DEMO_EXAMPLES)(demo_cmd.demo)


_register()
