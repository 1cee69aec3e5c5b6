"""`jobwatch config path | show | init | check`."""

from __future__ import annotations

from typing import Annotated

import typer

from jobwatch.commands.base import JobwatchCommand, JobwatchGroup, examples, runtime

config_app = typer.Typer(
    cls=JobwatchGroup,
    help="Find, show, create and check the config file.\n\n"
         + examples("jobwatch config init", "jobwatch config show", "jobwatch config check"),
    no_args_is_help=True,
)

PATH_EXAMPLES = examples(
    "jobwatch config path",
    '$EDITOR "$(jobwatch config path)"',
    "JOBWATCH_CONFIG=./jobwatch.toml jobwatch config path",
)
SHOW_EXAMPLES = examples(
    "jobwatch config show",
    "JOBWATCH_CLARET_TENANT=acme jobwatch config show",
    "jobwatch --config ./config.example.toml config show",
)
INIT_EXAMPLES = examples(
    "jobwatch config init",
    "jobwatch --config ./jobwatch.toml config init",
    "jobwatch config init --force",
)
CHECK_EXAMPLES = examples(
    "jobwatch config check",
    "jobwatch -v config check",
    "jobwatch --config ./jobwatch.toml config check",
)


@config_app.command("path", cls=JobwatchCommand, epilog=PATH_EXAMPLES)
def path(ctx: typer.Context) -> int:
    """Print where the config file is (or would be)."""
    from jobwatch.ui import write_out

    write_out(f"{runtime(ctx).config_file_path()}\n")
    return 0


@config_app.command("show", cls=JobwatchCommand, epilog=SHOW_EXAMPLES,
                    short_help="Show the resolved config, secrets hidden, with sources.")
def show(ctx: typer.Context) -> int:
    """Show the resolved config, every secret redacted, each value with its source."""
    from jobwatch.settings_view import render_config
    from jobwatch.ui import write_out

    write_out(render_config(runtime(ctx)))
    return 0


@config_app.command("init", cls=JobwatchCommand, epilog=INIT_EXAMPLES)
def init(ctx: typer.Context, force: Annotated[bool, typer.Option(
        "--force", help="Overwrite an existing file.")] = False) -> int:
    """Write a commented starter config (mode 0600)."""
    from jobwatch.settings_view import check_command, write_starter

    run = runtime(ctx)
    written = write_starter(run, force=force)
    run.stderr.write(f"wrote {written}; edit it, then try: {check_command(run)}\n")
    return 0


@config_app.command("check", cls=JobwatchCommand, epilog=CHECK_EXAMPLES,
                    short_help="Check the file and try each profile's token once.")
def check(ctx: typer.Context) -> int:
    """Validate the file and make one authenticated request per profile: ok, auth refused,
    not found (wrong base_url or tenant) or unreachable, with where the token came from.

    Exit code: 0 every profile ok, 5 auth refused, 6 config error or not found (no such
    endpoint: check base_url and tenant), 7 unreachable (the first profile that is not ok).
    """
    from jobwatch.settings_view import check_profiles

    return check_profiles(runtime(ctx))
