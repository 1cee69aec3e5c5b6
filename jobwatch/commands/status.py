"""`jobwatch status JOBS...`: each job's state, progress and message, once."""

from __future__ import annotations

import typer

from jobwatch.commands.base import JOBS_HELP, JobsArg, JsonOpt, QuietOpt, examples, runtime

SUMMARY = "Show jobs' state, progress and message, once."
HELP = f"""Show jobs' state, progress and message, once.

{JOBS_HELP}

Exit code: 0 succeeded, 1 failed or canceled, 2 usage error, 3 still running, 4 not found,
5 auth refused, 6 config error, 7 provider unreachable, 130 interrupted; with several jobs,
the first in command-line order that is not 0.
"""
EXAMPLES = examples(
    "jobwatch status claret 12345",
    "jobwatch status claret 12345 --json | jq -r .state",
    "jobwatch status claret:12345 merchantops@staging:job_8f2c1",
    "jobwatch status merchantops job_8f2c1 -p staging --quiet; echo $?",
)


def status(ctx: typer.Context, jobs: JobsArg, json_output: JsonOpt = False,
           quiet: QuietOpt = False) -> int:
    from jobwatch.status import status_command

    # jobwatch.fastpath reads the plainest forms of this command without Typer, and calls
    # the same function.
    return status_command(runtime(ctx), jobs, json_output=json_output, quiet=quiet)
