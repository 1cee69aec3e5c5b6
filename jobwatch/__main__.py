"""The one exit point: runs the CLI and turns every JobwatchError into its line and exit code."""

from __future__ import annotations

import sys

from jobwatch import __version__

GLOBAL_WITH_VALUE = ("--config", "--profile", "-p")
GLOBAL_FLAGS = ("--verbose", "-v")


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options to the front so they work after the command too
    (`jobwatch status claret 1 -p staging`)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if (arg in GLOBAL_FLAGS or any(arg.startswith(o + "=") for o in GLOBAL_WITH_VALUE[:2])
                or (arg.startswith("-p") and len(arg) > 2 and arg[2] != "-")):  # -pstaging
            front.append(arg)
        elif arg in GLOBAL_WITH_VALUE and i + 1 < len(args):
            front += args[i:i + 2]
            i += 1
        elif arg in GLOBAL_WITH_VALUE:
            from jobwatch.errors import UsageError

            example = "-p staging" if arg == "-p" else f"{arg} " + (
                "staging" if arg == "--profile" else "./jobwatch.toml")
            raise UsageError(f"option '{arg}' needs a value",
                             hint=f"for example: jobwatch status claret 12345 {example}")
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _error(message: str, hint: str | None = None) -> None:
    from jobwatch.text import printable

    message, hint = printable(message), printable(hint) if hint else hint
    try:
        sys.stderr.write(f"jobwatch: error: {message}\n")
        if hint:
            sys.stderr.write(f"hint: {hint}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def run(args: list[str]) -> int:
    from jobwatch.errors import ExitCode, JobwatchError

    secrets: set[str] = set()  # filled as tokens are resolved
    try:
        from jobwatch import fastpath

        args = hoist_global_options(args)
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
        from jobwatch.ui import silence_stdout

        silence_stdout()
        return int(ExitCode.OK)
    except Exception as exc:  # the last resort: one line, never a traceback
        from jobwatch.http import Redactor

        text = Redactor(store=secrets)(f"{type(exc).__name__}: {exc}".splitlines()[0])
        _error(f"internal error: {text}",
               "please report this at the project's issue tracker, with --verbose output")
        # Not 1: a script must not read a bug in jobwatch as "the job failed".
        return int(ExitCode.INTERNAL)


def run_typer(args: list[str], secrets: set[str] | None = None) -> int:
    """Typer's own errors become our usage line; everything else propagates to run()."""
    from typer import Abort
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    from typer.main import get_command

    from jobwatch.cli import app
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
        if exc.ctx is not None:
            sys.stderr.write(exc.ctx.get_usage() + "\n")
        command_path = exc.ctx.command_path if exc.ctx is not None else "jobwatch"
        _error(" ".join(exc.format_message().split()),
               f"run '{command_path} --help' for usage and examples")
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


def _sigterm_as_interrupt() -> None:
    """SIGTERM stops any command exactly as Ctrl-C does: cleanups run, exit 130."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    # Answered before anything else is imported (even `signal`, which brings `enum`).
    if args in (["--version"], ["-V"]):
        print(f"jobwatch {__version__}")
        sys.exit(0)
    try:
        from jobwatch.streams import GuardedStream

        sys.stderr = GuardedStream(sys.stderr)  # type: ignore[assignment]
        _sigterm_as_interrupt()
        code = run(args)
    except KeyboardInterrupt:  # Ctrl-C in the few milliseconds before run() listens
        _error("interrupted")
        code = 130
    if argv is None:  # the console script or `python -m jobwatch`, not a caller in-process
        _leave(code)
    sys.exit(code)


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
