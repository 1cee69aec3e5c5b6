"""`jobwatch wait JOBS...`: watch jobs to their end, with live progress; download their files."""

from __future__ import annotations

from typing import Annotated

import typer

from jobwatch.commands.base import (
    JOBS_HELP,
    ArtifactsOpt,
    DirOpt,
    JobsArg,
    QuietOpt,
    examples,
    runtime,
)

SUMMARY = "Wait for jobs to end, with live progress; fetch their files."
HELP = f"""Wait for jobs to end, with live progress; download what they produced.

{JOBS_HELP}

Exit code: 0 all succeeded, 1 failed, 2 usage error, 4 not found, 5 auth, 6 config error,
7 unreachable, 8 download failed, 124 timeout, 130 interrupted (with several jobs, the first
in command-line order that is not 0).
"""
EXAMPLES = examples(
    "jobwatch wait claret 12345 --timeout 10m",
    "jobwatch wait claret 101 102 103 --fail-fast --download-dir ./out",
    "jobwatch wait claret:1001 merchantops:enr_7Hq2",
    "jobwatch wait claret 12346 --not-found-grace 2m",
    "jobwatch wait merchantops job_8f2c1 --json | jq -r .outcome",
    "jobwatch wait claret 12345 --events | jq -c 'select(.event == \"end\")'",
    "jobwatch wait claret 12345 --on-end 'notify-send \"$JOBWATCH_OUTCOME\"'",
)


def wait(
    ctx: typer.Context,
    jobs: JobsArg,
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
             "as failed.")] = False,
    download_dir: DirOpt = None,
    no_download: Annotated[bool, typer.Option(
        "--no-download", help="Do not download artifacts when jobs end.")] = False,
    artifacts: ArtifactsOpt = None,
    follow_related: Annotated[bool, typer.Option(
        "--follow-related", help="Retailgrid: also wait for the related grid-fill job.")] = False,
    not_found_grace: Annotated[str | None, typer.Option(
        "--not-found-grace", metavar="DURATION",
        help="A job the provider does not know yet is waited for, polled at its interval, "
             "until this long after the watch began; then it is not found (exit 4). "
             "Default 0, or not_found_grace in [defaults].")] = None,
    on_end: Annotated[str | None, typer.Option(
        "--on-end", metavar="CMD",
        help="Run CMD with /bin/sh when each job's watch ends, after its downloads; the job "
             "reaches it in JOBWATCH_* variables (see README). Default: on_end in "
             "[defaults].")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="JSON Lines on stdout: one job per line, with outcome and downloads."
    )] = False,
    events: Annotated[bool, typer.Option(
        "--events", help="JSON Lines on stdout as things happen: update, waiting, retry, "
                         "download, end (see `jobwatch schema`).")] = False,
    quiet: QuietOpt = False,
) -> int:
    from jobwatch.resume import Resume
    from jobwatch.watch import WaitOptions, wait_command

    # jobwatch.fastpath reads the plainest forms of this command without Typer, and calls
    # the same function.
    run = runtime(ctx)
    opts = WaitOptions(timeout=timeout, interval=interval, fail_fast=fail_fast, strict=strict,
                       download_dir=download_dir, no_download=no_download, artifacts=artifacts,
                       follow_related=follow_related, not_found_grace=not_found_grace,
                       on_end=on_end)
    return wait_command(run, jobs, opts, json_output=json_output, events=events, quiet=quiet,
                        resume=Resume.from_context(ctx, run.profile, run.config_path,
                                                   run.verbose))
