"""`status`, `wait`, `download`, `providers`: parse flags, build the pieces, call one function."""

from __future__ import annotations

from typing import Annotated

import typer

from jobwatch.providers import PROVIDERS


def examples(*commands: str) -> str:
    """A command's epilog. Click rewraps every paragraph to 80 columns at most, which would
    break a long example in two where it is pasted from; a paragraph after a lone '\\b' line
    is left as written. Keep each example under 76 columns."""
    return "Examples:\n\n" + "\n\n".join(f"\b\n  {command}" for command in commands)


def provider_name(value: str) -> str:
    """The provider, case-insensitively. Our own check rather than an Enum's: Typer's says
    "Value error, 'foo' is not one of ..." (pydantic's words) and suggests nothing."""
    name = value.lower()
    if name in PROVIDERS:
        return name
    from difflib import get_close_matches

    from jobwatch.errors import UsageError

    close = get_close_matches(name, PROVIDERS, n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    raise UsageError(f"unknown provider '{value}'{guess}; choose {', '.join(PROVIDERS[:-1])} "
                     f"or {PROVIDERS[-1]}")


def complete_provider(incomplete: str) -> list[str]:
    return [name for name in PROVIDERS if name.startswith(incomplete.lower())]


# The arguments are described in each command's own help text and hidden from Typer's
# "Arguments" list, which would show them with Python type names ("JOB_ID <str>").
ProviderArg = Annotated[str, typer.Argument(
    metavar="PROVIDER", parser=provider_name, autocompletion=complete_provider, hidden=True,
    show_default=False)]
JobIdArg = Annotated[str, typer.Argument(metavar="JOB_ID", hidden=True, show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the normalized job as JSON.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; use the exit code.")]

STATUS_EXAMPLES = examples(
    "jobwatch status claret 12345",
    "jobwatch status claret 12345 --json | jq -r .state",
    "jobwatch status merchantops job_8f2c1 -p staging --quiet; echo $?",
)


def status(ctx: typer.Context, provider: ProviderArg, job_id: JobIdArg,
           json_output: JsonOpt = False, quiet: QuietOpt = False) -> int:
    """Show a job's state, progress and message, once.

    PROVIDER is retailgrid, merchantops, julep or claret; JOB_ID is the provider's job id
    (`jobwatch providers` shows each one's form).

    Exit code: 0 succeeded, 1 failed or canceled, 3 still running, 4 not found,
    5 auth refused, 6 config error, 7 provider unreachable.
    """
    from jobwatch.status import run_status

    return run_status(ctx.obj, provider, job_id, json_output=json_output, quiet=quiet)


PROVIDERS_EXAMPLES = examples(
    "jobwatch providers",
    "jobwatch providers | grep -w retailgrid",
)


def providers() -> int:
    """List the providers, their endpoints and the profile fields each needs."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.ui import providers_text, write_out

    write_out(providers_text(ADAPTERS))
    return 0


WAIT_EXAMPLES = examples(
    "jobwatch wait claret 12345 --timeout 10m",
    "jobwatch wait claret 101 102 103 --fail-fast --download-dir ./out",
    "jobwatch wait merchantops job_8f2c1 --json | jq -r .outcome",
)
DOWNLOAD_EXAMPLES = examples(
    "jobwatch download claret 12345",
    "jobwatch download claret 12345 --artifacts errors,output",
    "jobwatch download merchantops job_8f2c1 --download-dir ./out",
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
    job_ids: Annotated[list[str], typer.Argument(metavar="JOB_ID", hidden=True,
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
    """Wait for jobs to end, with live progress; download what they produced.

    PROVIDER is retailgrid, merchantops, julep or claret; each JOB_ID is one of its job ids
    (`jobwatch providers` shows each one's form).

    Exit code: 0 all succeeded, 1 failed, 4 not found, 5 auth, 7 unreachable, 8 download
    failed, 124 timeout, 130 interrupted (the first job in command-line order wins).
    """
    from jobwatch.wait import WaitOptions, run_wait

    opts = WaitOptions(timeout=timeout, interval=interval, fail_fast=fail_fast, strict=strict,
                       json_output=json_output, quiet=quiet, download_dir=download_dir,
                       no_download=no_download, artifacts=artifacts,
                       follow_related=follow_related)
    return run_wait(ctx.obj, provider, job_ids, opts)


def download(ctx: typer.Context, provider: ProviderArg, job_id: JobIdArg,
             download_dir: DirOpt = None, artifacts: ArtifactsOpt = None,
             json_output: Annotated[bool, typer.Option(
                 "--json", help="JSON Lines on stdout: the job, with outcome and "
                                "downloads.")] = False,
             quiet: QuietOpt = False) -> int:
    """Download the files or error lists of a job that has already ended.

    PROVIDER is retailgrid, merchantops, julep or claret; JOB_ID is the provider's job id
    (`jobwatch providers` shows each one's form).

    Exit code: 0 saved (or nothing to save), 3 still running, 4 not found, 5 auth,
    6 config error, 7 unreachable, 8 download failed.
    """
    from jobwatch.wait import run_download

    return run_download(ctx.obj, provider, job_id, download_dir=download_dir,
                        artifacts=artifacts, json_output=json_output, quiet=quiet)
