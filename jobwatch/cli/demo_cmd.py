"""`jobwatch demo`: see the whole product work with no account and no network."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from jobwatch.errors import UsageError

DEMO_EXAMPLES = (
    "Examples:\n\n"
    "  jobwatch demo\n\n"
    "  jobwatch demo --serve --port 8765"
)


def demo(
    ctx: typer.Context,
    serve: Annotated[bool, typer.Option(
        "--serve", help="Keep the simulator running and print the variables that point "
                        "jobwatch at it.")] = False,
    port: Annotated[Optional[int], typer.Option(  # noqa: UP045 - Typer needs Optional here
        "--port", min=0, max=65535, show_default=False,
        help="Port for --serve (default 0: any free port).")] = None,
) -> int:
    """Watch simulated Retailgrid, MerchantOps, Julep and Claret jobs end to end, offline."""
    from jobwatch.demo import run

    if port is not None and not serve:
        # The demo's own simulator always takes a free port: a port given here would be ignored.
        raise UsageError("--port only applies with --serve")
    return run.serve(ctx.obj, port or 0) if serve else run.run_demo(ctx.obj)
