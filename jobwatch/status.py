"""`jobwatch status`: one request (plus retries), a summary, and an exit code."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from jobwatch.errors import ExitCode
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    from jobwatch.adapters.base import Adapter
    from jobwatch.models import Job, JobState

# A one-shot command waits at most this long in all for Retry-After and backoff, so a provider
# asking for 300 s twice cannot keep `status` silent for ten minutes.
ONE_SHOT_MAX_WAIT = 60.0
NOTICE_AFTER = 2.0  # waits longer than this are announced on stderr


def exit_code_for(state: JobState) -> ExitCode:
    from jobwatch.models import JobState

    return {JobState.SUCCEEDED: ExitCode.OK, JobState.FAILED: ExitCode.FAILED,
            JobState.CANCELED: ExitCode.FAILED}.get(state, ExitCode.RUNNING)


def fetch_once(runtime: Runtime, adapter: Adapter, client: Any, job_id: str, *,
               quiet: bool = False) -> Job:
    """The job, after up to three attempts and at most a minute of waiting between them (each
    attempt is bounded too: jobwatch.http.API_TIME_LIMIT)."""
    from jobwatch.http import ONE_SHOT_ATTEMPTS, retrying, unreachable_hint

    def on_retry(exc: Exception, delay: float) -> None:
        runtime.log(f"{exc}; retrying in {delay:.1f}s")
        if delay >= NOTICE_AFTER and not quiet and not runtime.verbose:
            runtime.stderr.write(f"jobwatch: {exc}; retrying in {delay:.0f}s\n")

    return retrying(lambda: adapter.fetch(client, job_id, runtime.request_log),
                    attempts=ONE_SHOT_ATTEMPTS, on_retry=on_retry,
                    deadline=time.monotonic() + ONE_SHOT_MAX_WAIT,
                    hint=unreachable_hint(runtime.verbose))


def run_status(runtime: Runtime, provider: str, job_id: str, *, json_output: bool,
               quiet: bool) -> int:
    from jobwatch.adapters import ADAPTERS
    from jobwatch.ui import job_json, status_summary, wants_color, write_out

    job_id = ADAPTERS[provider].validate_id(job_id)  # a bad id is exit 2 before any config
    adapter = runtime.adapter(provider)
    with runtime.client(adapter, pool_size=1) as client:
        job = fetch_once(runtime, adapter, client, job_id, quiet=quiet)
    # parse_json hid our secrets in the answer already (adapters/base.py).
    if json_output:
        write_out(job_json(job) + "\n")
    elif not quiet:
        write_out(status_summary(job, wants_color(sys.stdout, runtime.env)))
    return int(exit_code_for(job.state))
