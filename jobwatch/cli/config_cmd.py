"""`jobwatch config path | show | init | check`."""

from __future__ import annotations

from typing import Annotated

import typer

config_app = typer.Typer(
    help="Find, show, create and check the config file.\n\n"
         "Examples:\n\n  jobwatch config init\n\n  jobwatch config show\n\n"
         "  jobwatch config check",
    no_args_is_help=True,
)


@config_app.command("path")
def path(ctx: typer.Context) -> int:
    """Print where the config file is (or would be)."""
    from jobwatch.ui import write_out

    write_out(f"{ctx.obj.config_file_path()}\n")
    return 0


@config_app.command("show")
def show(ctx: typer.Context) -> int:
    """Show the resolved config, every secret redacted, each value with its source."""
    from jobwatch.settings_view import render_config
    from jobwatch.ui import write_out

    write_out(render_config(ctx.obj))
    return 0


@config_app.command("init")
def init(ctx: typer.Context, force: Annotated[bool, typer.Option(
        "--force", help="Overwrite an existing file.")] = False) -> int:
    """Write a commented starter config (mode 0600)."""
    from jobwatch.settings_view import write_starter

    written = write_starter(ctx.obj, force=force)
    ctx.obj.stderr.write(f"wrote {written}; edit it, then try: jobwatch config check\n")
    return 0


@config_app.command("check")
def check(ctx: typer.Context) -> int:
    """Validate the file and make one authenticated request per profile."""
    from jobwatch.settings_view import check_profiles

    return check_profiles(ctx.obj)
