"""What Click itself makes of an argument list, for the fast paths' differential tests
(tests/test_fastpath.py for `status`, tests/test_fastpath_wait.py for `wait`)."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

from typer.main import get_command

from jobwatch.commands import app
from jobwatch.commands.base import _take_globals, chosen_globals

GROUP = get_command(app)


def click_context(argv: list[str], command_name: str) -> tuple[Any, ...]:
    """("refused",) when Click refuses ``argv`` (or prints help), ("other", NAME) for another
    command, else ("read", CONTEXT, GLOBALS): the command's context and the global options
    as the command sees them."""
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            ctx = GROUP.make_context("jobwatch", list(argv))
            _take_globals(ctx)
            args = [*ctx._protected_args, *ctx.args]
            name, command, rest = GROUP.resolve_command(ctx, args)  # type: ignore[attr-defined]
            if name != command_name:
                return ("other", name)
            sub = command.make_context(name, rest, parent=ctx)
            _take_globals(sub)
    except (Exception, SystemExit):  # UsageError, NoArgsIsHelpError, Exit (--help), ...
        return ("refused",)
    return ("read", sub, chosen_globals(sub))
