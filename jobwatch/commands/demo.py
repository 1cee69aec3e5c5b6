"""`jobwatch demo`: see the whole product work with no account and no network."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from jobwatch.commands.base import examples, runtime
from jobwatch.errors import UsageError

SUMMARY = "Watch simulated jobs of all four providers, offline."
HELP = (
    "Watch simulated Retailgrid, MerchantOps, Julep and Claret jobs end to end, offline.\n\n"
    "With --serve the simulator keeps running for trying commands by hand: while it runs, "
    "--profile demo (-p demo) points every provider at it, from any terminal and across "
    "restarts, with nothing to export (a [PROVIDER.demo] section in your config wins for that "
    "provider). It also prints JOBWATCH_* variables, for tools other than jobwatch.\n\n"
    "Each simulated job starts when first asked about. To watch them from their start again, "
    "restart `jobwatch demo --serve`, or run `jobwatch demo --reset` while it runs."
)
EXAMPLES = examples(
    "jobwatch demo",
    "jobwatch demo --serve",
    "jobwatch status claret 1001 -p demo",
    "jobwatch demo --reset",
)


def port_number(value: str) -> int:
    """Our own check, so the help says PORT rather than "<int range> [0<=x<=65535]"."""
    port = int(value) if value.isdecimal() else -1
    if not 0 <= port <= 65535:
        raise UsageError(f"--port takes a number from 0 to 65535, not {value!r}")
    return port


def demo(
    ctx: typer.Context,
    serve: Annotated[bool, typer.Option(
        "--serve", help="Keep the simulator running for -p demo (and print the variables "
                        "that point other tools at it).")] = False,
    port: Annotated[Optional[int], typer.Option(  # noqa: UP045 - Typer needs Optional here
        "--port", metavar="PORT", parser=port_number, show_default=False,
        help="Port for --serve, 0 to 65535 (default 0: any free port).")] = None,
    reset: Annotated[bool, typer.Option(
        "--reset", help="Start every job of the running `demo --serve` over, from its "
                        "beginning.")] = False,
) -> int:
    from jobwatch.demo import run

    if reset and (serve or port is not None):
        raise UsageError("--reset talks to a running `jobwatch demo --serve`; give it alone")
    if port is not None and not serve:
        # The demo's own simulator always takes a free port: a port given here would be ignored.
        raise UsageError("--port only applies with --serve")
    if reset:
        return run.reset(runtime(ctx))
    return run.serve(runtime(ctx), port or 0) if serve else run.run_demo(runtime(ctx))
