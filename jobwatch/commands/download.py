"""`jobwatch download JOBS...`: the files or error lists of jobs that have already ended."""

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

SUMMARY = "Fetch the files or error lists of jobs that have ended."
HELP = f"""Download the files or error lists of jobs that have already ended.

{JOBS_HELP} The path of each file saved is printed on stdout.

Exit code: 0 saved (or nothing to save), 2 usage error, 3 still running, 4 not found, 5
auth, 6 config error, 7 unreachable, 8 download failed, 130 interrupted.
"""
EXAMPLES = examples(
    "jobwatch download claret 12345",
    "jobwatch download claret 12345 --artifacts errors,output",
    "jobwatch download merchantops job_8f2c1 --download-dir ./out",
)


def download(ctx: typer.Context, jobs: JobsArg, download_dir: DirOpt = None,
             artifacts: ArtifactsOpt = None,
             json_output: Annotated[bool, typer.Option(
                 "--json", help="JSON Lines on stdout: each job, with outcome and "
                                "downloads.")] = False,
             quiet: QuietOpt = False) -> int:
    from jobwatch.collect import run_download
    from jobwatch.output import Output
    from jobwatch.refs import parse_refs
    from jobwatch.resume import Resume

    run = runtime(ctx)
    refs = parse_refs(jobs, stderr=run.stderr)
    return run_download(run, refs, Output.choose(run, json_output=json_output, quiet=quiet),
                        Resume.from_context(ctx, run.profile, run.config_path, run.verbose),
                        download_dir=download_dir, artifacts=artifacts)
