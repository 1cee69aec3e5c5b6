"""The command line: the Typer app and its command table. Each command is a module of its
own here (a thin function: parse, build, call one function that does the work); what they
share is in base.py."""

from __future__ import annotations

from typing import Annotated

import typer

from jobwatch import __version__
from jobwatch.commands import config, demo, download, providers, schema, status, wait
from jobwatch.commands.base import JobwatchCommand, JobwatchGroup, examples

app = typer.Typer(
    name="jobwatch",
    cls=JobwatchGroup,
    help="Watch long-running jobs on Retailgrid, MerchantOps, Julep and Claret until they end.\n\n"
         + examples("jobwatch status claret 12345",
                    "jobwatch wait merchantops job_8f2c1 --timeout 10m",
                    "jobwatch demo"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Click's plain help: Typer's rich help imports markdown-it and rich's traceback machinery
    # (~60 ms, half of what `--help` costs) and shows flags as "--json <bool>".
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Ours below: Typer's would install its own scripts, not those in completions/.
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jobwatch {__version__}")
        raise typer.Exit(0)


def _install_completion(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:  # not while Tab is being answered
        from jobwatch.completions import install_here

        install_here()
        raise typer.Exit(0)


def _show_completion(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from jobwatch.completions import detect_shell, script

        typer.echo(script(detect_shell()), nl=False)
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False,
    install_completion: Annotated[bool, typer.Option(
        "--install-completion", callback=_install_completion, is_eager=True,
        expose_value=False, help="Install completion for the current shell.")] = False,
    show_completion: Annotated[bool, typer.Option(
        "--show-completion", callback=_show_completion, is_eager=True, expose_value=False,
        help="Show completion for the current shell, to copy it or customize the "
             "installation.")] = False,
) -> None:
    """The global options (--config, --profile, --verbose) are JobwatchGroup's."""


# The command table, in the order `jobwatch --help` lists it.
for module, function in ((status, status.status), (wait, wait.wait),
                         (download, download.download), (providers, providers.providers),
                         (schema, schema.schema), (demo, demo.demo)):
    app.command(cls=JobwatchCommand, help=module.HELP, short_help=module.SUMMARY,
                epilog=module.EXAMPLES)(function)
app.add_typer(config.config_app, name="config")
