"""jobwatch.engine.retry: the decisions after a failed poll, as values, with no engine."""

from __future__ import annotations

import pytest

from jobwatch.engine.retry import (
    MAX_FAILURES,
    MIN_INTERVAL,
    GiveUp,
    Retry,
    RetryPolicy,
    floored,
)
from jobwatch.errors import CertificateError, TransientError, UnreachableError

TOP, BOTTOM, MIDDLE = RetryPolicy(rand=lambda: 1.0), RetryPolicy(rand=lambda: 0.0), \
    RetryPolicy(rand=lambda: 0.5)
HTTP_503 = TransientError("HTTP 503")


def delays(policy: RetryPolicy, interval: float, failures: int) -> list[float]:
    out = []
    for n in range(1, failures + 1):
        decision = policy.decide(HTTP_503, n, interval)
        assert isinstance(decision, Retry)
        out.append(decision.delay)
    return out


def test_the_window_doubles_with_each_failure_up_to_ten_intervals() -> None:
    # rand() == 1.0: the top of each window, the interval plus up to
    # interval * (2**(n-1) - 1), capped at 10 intervals in all.
    assert delays(TOP, 1.0, 6) == pytest.approx([1, 2, 4, 8, 10, 10])


def test_the_window_is_also_capped_at_a_minute() -> None:
    assert delays(TOP, 30.0, 4) == pytest.approx([30, 60, 60, 60])


def test_a_short_interval_is_floored_before_backing_off() -> None:
    # 0.05 s is polled as 0.2 s, so the window grows to 10 x 0.2 s.
    assert delays(TOP, 0.05, 6) == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


def test_jitter_spreads_between_the_interval_and_the_window() -> None:
    assert delays(BOTTOM, 5.0, 3) == pytest.approx([5, 5, 5])  # never below the interval
    assert delays(MIDDLE, 2.0, 3) == pytest.approx([2, 3, 5])


def test_retry_after_is_honoured_above_the_interval() -> None:
    assert TOP.decide(TransientError("429", retry_after=7.0), 1, 2.0) == Retry(7.0)


def test_retry_after_below_the_interval_waits_the_interval() -> None:
    # Taken at its word, `Retry-After: 0` spends all 10 tries in 0.4 s.
    assert TOP.decide(TransientError("429", retry_after=0.0), 1, 1.0) == Retry(1.0)


def test_the_interval_has_a_floor() -> None:
    assert floored(0.0) == MIN_INTERVAL == 0.2
    assert TOP.decide(TransientError("429", retry_after=0.0), 1, 0.05) == Retry(0.2)


def test_retry_after_is_capped_at_300_s_and_at_the_time_left() -> None:
    long = TransientError("429", retry_after=900.0)
    assert TOP.decide(long, 1, 2.0) == Retry(300.0)
    assert TOP.decide(long, 1, 2.0, left=45.0) == Retry(45.0)
    assert TOP.decide(HTTP_503, 3, 2.0, left=0.5) == Retry(0.5)
    assert TOP.decide(HTTP_503, 3, 2.0, left=-1.0) == Retry(0.0)  # past it: at once


def test_an_answer_that_is_not_transient_backs_off_too() -> None:
    assert MIDDLE.decide(UnreachableError("garbage"), 2, 2.0) == Retry(3.0)


def test_gives_up_after_ten_failures_in_a_row_saying_so() -> None:
    assert MAX_FAILURES == 10
    assert isinstance(TOP.decide(HTTP_503, 9, 1.0), Retry)
    decision = TOP.decide(TransientError("HTTP 503", hint="check it"), 10, 1.0)
    assert isinstance(decision, GiveUp)
    assert decision.error.message == "HTTP 503; gave up after 10 failures in a row"
    assert decision.error.hint == "check it"
    assert isinstance(RetryPolicy(max_failures=3).decide(HTTP_503, 3, 1.0), GiveUp)


def test_a_certificate_that_does_not_verify_is_final_at_once() -> None:
    error = CertificateError("the TLS certificate of https://x does not verify")
    assert TOP.decide(error, 1, 1.0) == GiveUp(error)
