"""`status`, `wait`, `download` and `providers`: parse flags, build the pieces, call one function."""

from __future__ import annotations

from typing import Annotated

import typer

from jobwatch.cli import Provider

STATUS_EXAMPLES = (
    "Examples:\n\n"
    "  jobwatch status claret 12345\n\n"
    "  jobwatch status julep 0b6a5a8e-7c1f-4e0b-9d7e-2f3a4b5c6d7e --json | jq .state\n\n"
    "  jobwatch status merchantops job_8f2c1 -p staging --quiet; echo $?"
)
PROVIDERS_EXAMPLES = "Example:\n\n  jobwatch providers"

JobIdArg = Annotated[str, typer.Argument(metavar="JOB_ID", help="The provider's job id.",
                                         show_default=False)]
ProviderArg = Annotated[Provider, typer.Argument(
    metavar="PROVIDER", help="retailgrid, merchantops, julep or claret.", show_default=False,
    case_sensitive=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the normalized job as JSON.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; use the exit code.")]


def status(ctx: typer.Context, provider: ProviderArg, job_id: JobIdArg,
           json_output: JsonOpt = False, quiet: QuietOpt = False) -> int:
    """Show a job's state, progress and message, once.

    Exit code: 0 succeeded, 1 failed or canceled, 3 still running, 4 not found, 5 auth refused, 6 config error, 7 provider unreachable.
    """
    from jobwatch.status import run_status

    return run_status(ctx.obj, provider.value, job_id, json_output=json_output, quiet=quiet)


def providers() -> int:
    """List the providers, their endpoints and the profile fields each needs."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.ui import write_out

    rows = [("PROVIDER", "STATUS ENDPOINT", "JOB ID", "NEEDS", "DEFAULT BASE_URL")]
    for name, cls in ADAPTERS.items():
        needs = ["token"] + list(cls.required) + ([] if cls.default_base_url else ["base_url"])
        rows.append((name, "GET {base_url}" + cls.status_path, cls.id_form.split(" (")[0],
                     ", ".join(needs), cls.default_base_url or "(required)"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append("")
    lines.append("Optional fields: organization_id (merchantops), interval, timeout, verify, "
                 "headers. Env: JOBWATCH_<PROVIDER>_<FIELD>.")
    write_out("\n".join(lines) + "\n")
    return 0

