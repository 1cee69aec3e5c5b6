"""`jobwatch demo`: see the whole product work with no account and no network."""

from __future__ import annotations

from typing import Annotated

import typer

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
    port: Annotated[int, typer.Option(
        "--port", min=0, max=65535, help="Port for --serve (0: any free port).")] = 0,
) -> int:
    """Watch simulated Retailgrid, MerchantOps, Julep and Claret jobs end to end, offline."""
    from jobwatch.demo import run

    return run.serve(ctx.obj, port) if serve else run.run_demo(ctx.obj)
