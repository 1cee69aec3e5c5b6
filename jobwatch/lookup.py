"""One answer per job, with a small retry budget: what `status` and `download` ask.

Several jobs are asked about at once, on the run's one client (a `status` of 50 jobs is not
50 round trips in a row). A refused token ends the lookups of its provider and profile, not
the others'.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobwatch.errors import AuthError, JobwatchError
from jobwatch.refs import JobRef
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    import httpx

    from jobwatch.adapters.base import Adapter
    from jobwatch.models import Job

# A one-shot command waits at most this long in all for Retry-After and backoff, so a provider
# asking for 300 s twice cannot keep `status` silent for ten minutes.
ONE_SHOT_MAX_WAIT = 60.0
NOTICE_AFTER = 2.0  # waits longer than this are announced on stderr
MOST_AT_ONCE = 16  # requests in flight, and connections: what a provider sees of one run


@dataclass
class Answer:
    ref: JobRef  # its profile resolved
    job: Job | None = None
    error: JobwatchError | None = None


def fetch_once(runtime: Runtime, adapter: Adapter, client: httpx.Client, job_id: str, *,
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


def adapters_for(runtime: Runtime, refs: list[JobRef]) -> dict[tuple[str, str], Adapter]:
    """Each provider and profile's adapter, every profile resolved and every token read
    before the first request."""
    accounts = dict.fromkeys((r.provider, r.profile or runtime.profile) for r in refs)
    return {account: runtime.adapter(*account) for account in accounts}


def look_up(runtime: Runtime, refs: list[JobRef], adapters: dict[tuple[str, str], Adapter],
            client: httpx.Client, *, quiet: bool = False) -> list[Answer]:
    """An answer per reference, in their order."""
    answers = [Answer(ref) for ref in refs]
    refused: dict[tuple[str, str], AuthError] = {}
    bugs: list[BaseException] = []
    lock = threading.Lock()
    pending = iter(answers)

    def work() -> None:
        while True:
            with lock:
                answer = next(pending, None)
            if answer is None:
                return
            account = (answer.ref.provider, answer.ref.profile or runtime.profile)
            if account in refused:  # no request with a token already refused
                answer.error = refused[account]
                continue
            try:
                answer.job = fetch_once(runtime, adapters[account], client, answer.ref.job_id,
                                        quiet=quiet)
            except AuthError as exc:
                refused.setdefault(account, exc)
                answer.error = exc
            except JobwatchError as exc:
                answer.error = exc
            except Exception as exc:  # a bug: the main thread raises it, for the exit point
                bugs.append(exc)
                return

    threads = min(MOST_AT_ONCE, len(answers))
    if threads <= 1:
        work()
        if bugs:
            raise bugs[0]
        return answers
    started = [threading.Thread(target=work, daemon=True, name="jobwatch-lookup")
               for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        while thread.is_alive():
            thread.join(0.1)  # in slices, so Ctrl-C reaches the main thread
    if bugs:
        raise bugs[0]
    return answers
