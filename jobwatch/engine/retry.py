"""What to do after a poll failed, as a value: retry in so many seconds, or give up. Pure (the
randomness of the jitter is passed in), so every rule is tested without an engine or a clock.

The rules (SPEC "Network behaviour", "Hardening"): `wait` polls on through transient failures
but gives up after MAX_FAILURES in a row; a certificate that does not verify is final; a
Retry-After is honoured, capped at RETRY_AFTER_CAP and at the time left; otherwise an
exponential backoff with full jitter; and never sooner than the job's own interval.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from jobwatch.errors import (
    RETRY_AFTER_CAP,
    CertificateError,
    JobwatchError,
    TransientError,
    UnreachableError,
)

MIN_INTERVAL = 0.2  # the floor under --interval (0 means it)
MAX_FAILURES = 10
BACKOFF_CAP = 60.0  # and never more than BACKOFF_INTERVALS polling intervals
BACKOFF_INTERVALS = 10


@dataclass(frozen=True)
class Retry:
    """Ask again in ``delay`` seconds."""

    delay: float


@dataclass(frozen=True)
class GiveUp:
    """Poll this job no more: it is unreachable, with ``error`` to say why."""

    error: JobwatchError


Decision = Retry | GiveUp


def floored(interval: float) -> float:
    """A polling interval as used: never below MIN_INTERVAL."""
    return max(MIN_INTERVAL, interval)


@dataclass(frozen=True)
class RetryPolicy:
    max_failures: int = MAX_FAILURES
    rand: Callable[[], float] = random.random  # uniform in [0, 1): the jitter

    def decide(self, error: JobwatchError, failures: int, interval: float,
               left: float | None = None) -> Decision:
        """After ``failures`` failures in a row (this one included) of a job polled every
        ``interval`` seconds, with ``left`` seconds to the deadline (None: no deadline)."""
        if isinstance(error, CertificateError):
            return GiveUp(error)  # the next poll would meet the same certificate
        if failures >= self.max_failures:
            return GiveUp(UnreachableError(
                f"{error.message}; gave up after {failures} failures in a row", hint=error.hint))
        delay = self.delay(error, failures, floored(interval))
        return Retry(delay if left is None else min(delay, max(0.0, left)))

    def delay(self, error: JobwatchError, failures: int, interval: float) -> float:
        """Never sooner than the job's usual interval: a failing provider is not polled
        harder than a healthy one, and `Retry-After: 0` cannot spend the failure budget in a
        burst. Retry-After is honoured above that; otherwise a full-jitter extra that doubles
        with each failure, up to BACKOFF_INTERVALS intervals (and BACKOFF_CAP) in all."""
        retry_after = error.retry_after if isinstance(error, TransientError) else None
        if retry_after is not None:
            return min(RETRY_AFTER_CAP, max(retry_after, interval))
        ceiling = max(interval, min(BACKOFF_CAP, max(1.0, BACKOFF_INTERVALS * interval)))
        extra = min(ceiling - interval, interval * (2.0 ** (failures - 1) - 1))
        return min(RETRY_AFTER_CAP, interval + self.rand() * extra)
