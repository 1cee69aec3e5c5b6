"""`status`, `wait`, `download`, `providers`: parse flags, build the pieces, call one function."""

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
PROVIDERS_EXAMPLES = (
    "Examples:\n\n"
    "  jobwatch providers\n\n"
    "  jobwatch providers | grep -w retailgrid"
)

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

    Exit code: 0 succeeded, 1 failed or canceled, 3 still running, 4 not found,
    5 auth refused, 6 config error, 7 provider unreachable.
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
    lines.append("merchantops also calls GET {base_url}/api/jobs/{job_id} once, when a job ends "
                 "(errors and warnings).")
    lines.append("Optional fields: organization_id (merchantops), interval, timeout, verify, "
                 "headers. Env: JOBWATCH_<PROVIDER>_<FIELD>.")
    write_out("\n".join(lines) + "\n")
    return 0



WAIT_EXAMPLES = (
    "Examples:\n\n"
    "  jobwatch wait claret 12345 --timeout 10m\n\n"
    "  jobwatch wait claret 101 102 103 --fail-fast --download-dir ./out\n\n"
    "  jobwatch wait merchantops job_8f2c1 --json | jq -r .outcome\n\n"
    "Exit code: 0 all succeeded, 1 failed, 4 not found, 5 auth, 7 unreachable, "
    "8 download failed, 124 timeout, 130 interrupted (first job in command-line order wins)."
)
DOWNLOAD_EXAMPLES = (
    "Examples:\n\n"
    "  jobwatch download claret 12345\n\n"
    "  jobwatch download claret 12345 --artifacts errors,output --download-dir ./out\n\n"
    "  jobwatch download merchantops job_8f2c1"
)
DirOpt = Annotated[str | None, typer.Option(
    "--download-dir", metavar="DIR",
    help="Where artifacts go (default: defaults.download_dir, else the current directory).")]
ArtifactsOpt = Annotated[str | None, typer.Option(
    "--artifacts", metavar="CATEGORY,...",
    help="Only these categories: input, staging, output, errors (Claret); errors, warnings, "
         "job (MerchantOps).")]


def wait(
    ctx: typer.Context,
    provider: ProviderArg,
    job_ids: Annotated[list[str], typer.Argument(metavar="JOB_ID...", help="One or more job ids.",
                                                 show_default=False)],
    timeout: Annotated[str | None, typer.Option(
        "--timeout", metavar="DURATION",
        help="Give up after this long (exit 124): 90, 90s, 5m, 1h30m; 0 for no limit.")] = None,
    interval: Annotated[str | None, typer.Option(
        "--interval", metavar="DURATION",
        help="Time between polls (default 5s for claret, 2s otherwise; never below 0.2s, "
             "which 0 means).")] = None,
    fail_fast: Annotated[bool, typer.Option(
        "--fail-fast", help="Stop at the first job that fails.")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict",
        help="A job that ended with failed items or errors (Claret: an errors file) counts "
             "as failed.",
    )] = False,
    download_dir: DirOpt = None,
    no_download: Annotated[bool, typer.Option(
        "--no-download", help="Do not download artifacts when jobs end.")] = False,
    artifacts: ArtifactsOpt = None,
    follow_related: Annotated[bool, typer.Option(
        "--follow-related", help="Retailgrid: also wait for the related grid-fill job.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="JSON Lines on stdout: one job per line, with outcome and downloads."
    )] = False,
    quiet: QuietOpt = False,
) -> int:
    """Wait for jobs to end, with live progress; download what they produced."""
    from jobwatch.wait import WaitOptions, run_wait

    opts = WaitOptions(timeout=timeout, interval=interval, fail_fast=fail_fast, strict=strict,
                       json_output=json_output, quiet=quiet, download_dir=download_dir,
                       no_download=no_download, artifacts=artifacts,
                       follow_related=follow_related)
    return run_wait(ctx.obj, provider.value, job_ids, opts)


def download(ctx: typer.Context, provider: ProviderArg, job_id: JobIdArg,
             download_dir: DirOpt = None, artifacts: ArtifactsOpt = None,
             json_output: JsonOpt = False, quiet: QuietOpt = False) -> int:
    """Download the files or error lists of a job that has already ended."""
    from jobwatch.wait import run_download

    return run_download(ctx.obj, provider.value, job_id, download_dir=download_dir,
                        artifacts=artifacts, json_output=json_output, quiet=quiet)
