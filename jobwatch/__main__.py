"""The one exit point: runs the CLI and turns every JobwatchError into its line and exit code.
Nothing parses the arguments before Click but an exact `--version`/`-V`, answered before
Typer is imported, and jobwatch.fastpath, which reads a plain `status` exactly as Click does
(a differential test proves it) or declines."""

from __future__ import annotations

import os
import sys

from jobwatch import __version__

TYPE_CHECKING = False  # typing itself is not imported: `--version` would pay ~3 ms for it
if TYPE_CHECKING:
    from typing import TextIO


def _error(message: str, hint: str | None = None) -> None:
    from jobwatch.text import shown

    # A provider's words may be in it (a 422's message): a line, not megabytes.
    message, hint = shown(message, 1000), shown(hint, 1000) if hint else hint
    try:
        sys.stderr.write(f"jobwatch: error: {message}\n")
        if hint:
            sys.stderr.write(f"hint: {hint}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def run(args: list[str], secrets: set[str] | None = None) -> int:
    from jobwatch.errors import ExitCode, JobwatchError

    secrets = set() if secrets is None else secrets  # filled as tokens are resolved
    try:
        from jobwatch import fastpath

        code = fastpath.run(args, secrets)
        return code if code is not None else run_typer(args, secrets)
    except JobwatchError as exc:
        _error(exc.message, exc.hint)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _error("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # Only stdout can raise it (stderr is guarded): the reader of our data has what it
        # wanted (`jobwatch --help | head -1`).
        from jobwatch.streams import silence_stdout

        silence_stdout()
        return int(ExitCode.OK)
    except Exception as exc:  # the last resort: one line, never a traceback
        if _stdout_failed(exc):
            from jobwatch.streams import silence_stdout

            silence_stdout()
            _error(f"cannot write to standard output: {exc.strerror}")  # type: ignore[attr-defined]
            return int(ExitCode.OUTPUT)
        from jobwatch.redact import Redactor

        text = Redactor(store=secrets)(f"{type(exc).__name__}: {exc}".splitlines()[0])
        _error(f"internal error: {text}",
               "please report this at the project's issue tracker, with --verbose output")
        # Not 1: a script must not read a bug in jobwatch as "the job failed".
        return int(ExitCode.INTERNAL)


def _stdout_failed(exc: Exception) -> bool:
    """Whether an error nothing of jobwatch handled is standard output failing: Click writing
    help or a completion script to a full disk (`--help > /dev/full`). Only writing raises
    these; stderr is guarded, and every file jobwatch writes turns its own into DownloadError
    or ConfigError."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG,
                                                      errno.EIO)


def run_typer(args: list[str], secrets: set[str] | None = None) -> int:
    """Typer's own errors become our usage line; everything else propagates to run()."""
    from typer import Abort
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    from typer.main import get_command

    from jobwatch.commands import app
    from jobwatch.errors import ExitCode

    try:
        result = get_command(app).main(args=args, prog_name="jobwatch", standalone_mode=False,
                                        obj=set() if secrets is None else secrets)
    except NoArgsIsHelpError as exc:  # bare `jobwatch` or `jobwatch config`: help was shown
        message = exc.format_message()
        if message.strip():
            sys.stderr.write(message + "\n")
        return int(ExitCode.USAGE)
    except UsageError as exc:
        # One error line; the usage goes into the hint ("Usage: jobwatch status [OPTIONS]
        # PROVIDER JOB_ID" said first would make two lines of one mistake).
        command_path = exc.ctx.command_path if exc.ctx is not None else "jobwatch"
        usage = " ".join(exc.ctx.get_usage().split()[1:]) if exc.ctx is not None else ""
        _error(" ".join(exc.format_message().split()),
               (f"usage: {usage}; " if usage else "")
               + f"run '{command_path} --help' for examples")
        return int(ExitCode.USAGE)
    except ClickException as exc:
        _error(exc.format_message())
        return int(ExitCode.USAGE)
    except Abort:
        raise KeyboardInterrupt from None
    except SystemExit as exc:
        from typer._click.utils import PacifyFlushWrapper

        if exc.code == 1 and (isinstance(exc.__context__, BrokenPipeError)
                              or isinstance(sys.stdout, PacifyFlushWrapper)):
            # Rich's and Typer's answer to a closed pipe (`jobwatch --help | head -1`) is
            # exit 1; end as `status` does instead.
            raise BrokenPipeError from None
        raise
    return int(result) if isinstance(result, int) else 0


def _signals_as_interrupt() -> None:
    """SIGTERM, and SIGHUP (the terminal closed, the ssh session dropped), stop any command
    exactly as Ctrl-C does: cleanups run, no .part is left, exit 130. A signal ignored when we
    started (`nohup jobwatch wait ...`) stays ignored."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, handler)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    # Answered before anything else is imported (even `signal`, which brings `enum`).
    if args in (["--version"], ["-V"]):
        sys.exit(_print_version())
    if argv is None:  # a process of its own: see jobwatch.long_running
        import gc

        gc.disable()
    try:
        from jobwatch.redact import Redactor
        from jobwatch.streams import GuardedStream, RedactedStream

        secrets: set[str] = set()  # every token and credential, as each is resolved
        redact = Redactor(store=secrets)
        stderr: TextIO = RedactedStream(GuardedStream(sys.stderr), redact)  # type: ignore[assignment]
        if os.environ.get("GITHUB_ACTIONS") == "true":
            # The runner reads workflow commands from stderr too: no line of ours may carry
            # one from a provider (jobwatch.github).
            from jobwatch.github import ActionsStream

            stderr = ActionsStream(stderr)  # type: ignore[assignment]
        sys.stderr = stderr
        if sys.stdout is not None:
            sys.stdout = RedactedStream(sys.stdout, redact)
        _signals_as_interrupt()
        code = run(args, secrets)
    except KeyboardInterrupt:  # Ctrl-C in the few milliseconds before run() listens
        _error("interrupted")
        code = 130
    if argv is None:  # the console script or `python -m jobwatch`, not a caller in-process
        _leave(code)
    sys.exit(code)


def _print_version() -> int:
    """`jobwatch --version`, ending as `status` would: quietly when the reader went away
    (`| true`), 74 with one line when stdout is full or closed. Imports nothing beyond
    jobwatch.streams (which needs only os and sys, in every interpreter already)."""
    if sys.stdout is None:  # `>&-`
        _error("standard output is closed: nothing could be printed")
        return 74
    try:
        sys.stdout.write(f"jobwatch {__version__}\n")
        sys.stdout.flush()
        return 0
    except OSError as exc:
        from jobwatch.streams import silence_stdout

        silence_stdout()
        if isinstance(exc, BrokenPipeError):
            return 0
        _error(f"cannot write to standard output: {exc.strerror or exc}")
        return 74


def _leave(code: int) -> None:
    """Flush and exit without tearing the interpreter down: unloading the ~270 modules httpx
    brings costs ~25 ms of CPU, a sixth of a whole `status`. Nothing of jobwatch's needs it:
    files are closed (downloads fsynced), the client is closed, worker threads are daemons,
    and no logging handler or atexit hook is installed."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass  # a closed pipe or a closed stream: nothing more can be said there
    os._exit(code)


if __name__ == "__main__":
    main()
