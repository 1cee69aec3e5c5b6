"""`jobwatch status`: one request (plus retries), a summary, and an exit code."""

from __future__ import annotations

import sys

from jobwatch.errors import ExitCode
from jobwatch.runtime import Runtime

STATUS_ATTEMPTS = 3


def exit_code_for(state: str) -> ExitCode:
    return {"succeeded": ExitCode.OK, "failed": ExitCode.FAILED,
            "canceled": ExitCode.FAILED}.get(state, ExitCode.RUNNING)


def run_status(runtime: Runtime, provider: str, job_id: str, *, json_output: bool,
               quiet: bool) -> int:
    from jobwatch.adapters import ADAPTERS
    from jobwatch.http import retrying
    from jobwatch.ui import job_json, status_summary, wants_color, write_out

    job_id = ADAPTERS[provider].validate_id(job_id)  # a bad id is exit 2 before any config
    adapter = runtime.adapter(provider)

    def on_retry(exc: Exception, delay: float) -> None:
        runtime.log(f"{exc}; retrying in {delay:.1f}s")

    with runtime.client(adapter, pool_size=1) as client:
        job = retrying(lambda: adapter.fetch(client, job_id, runtime.request_log),
                       attempts=STATUS_ATTEMPTS, on_retry=on_retry)
    if json_output:
        write_out(job_json(job) + "\n")
    elif not quiet:
        write_out(status_summary(job, wants_color(sys.stdout, runtime.env)))
    return int(exit_code_for(job.state.value))
