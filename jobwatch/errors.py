"""Exit codes and the error tree. Only ``__main__.main`` turns these into output."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    RUNNING = 3
    NOT_FOUND = 4
    AUTH = 5
    CONFIG = 6
    UNREACHABLE = 7
    DOWNLOAD = 8
    TIMEOUT = 124
    INTERRUPTED = 130
    # Outside SPEC's table, and on purpose not 1: neither is something the job did.
    INTERNAL = 70  # a bug in jobwatch (sysexits' EX_SOFTWARE)
    OUTPUT = 74  # standard output could not be written (EX_IOERR)


class JobwatchError(Exception):
    """An error with a one-line message, an exit code and, where it helps, a hint."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(JobwatchError):
    exit_code = ExitCode.USAGE


class StillRunningError(JobwatchError):
    exit_code = ExitCode.RUNNING


class NotFoundError(JobwatchError):
    exit_code = ExitCode.NOT_FOUND


class AuthError(JobwatchError):
    exit_code = ExitCode.AUTH


class ConfigError(JobwatchError):
    exit_code = ExitCode.CONFIG


class UnreachableError(JobwatchError):
    """Network errors, 5xx/429 after retries, or an answer that is not the expected JSON."""

    exit_code = ExitCode.UNREACHABLE


# The longest a Retry-After is honoured (SPEC: "capped at 300 s"); the remaining timeout caps
# it further. Here, beside the error that carries the value, so the engine's retry policy and
# http.py read one constant without the engine importing http.py.
RETRY_AFTER_CAP = 300.0


class TransientError(UnreachableError):
    """Worth another try: a network error, a timeout, 429/5xx, or a bad answer. Carries the
    answer's Retry-After, in seconds (already capped at RETRY_AFTER_CAP), where it had one."""

    def __init__(self, message: str, retry_after: float | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class CertificateError(UnreachableError):
    """The server's TLS certificate does not verify. Never retried: another attempt meets
    the same certificate. Its hint names what would fix it."""


class DownloadError(JobwatchError):
    exit_code = ExitCode.DOWNLOAD


class OutputError(JobwatchError):
    """Standard output is closed or full: the answer could not be printed."""

    exit_code = ExitCode.OUTPUT


class DownloadTimeout(DownloadError):
    """The --timeout passed before a file was complete; `jobwatch download` can fetch it."""


class Interrupted(JobwatchError):
    """Ctrl-C, SIGTERM or SIGHUP ended a command that had nothing of its own to say about it.
    A KeyboardInterrupt is carried out of Typer as this: Typer 0.29 would turn it into a
    silent exit code."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)
