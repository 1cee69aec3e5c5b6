"""`jobwatch demo`: the simulator plus the real `wait` code path, for someone with no account."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobwatch.config import ConfigFile
from jobwatch.errors import ExitCode, UsageError
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    from jobwatch.demo.server import Simulator

DEMO_INTERVAL = "0.5"  # the simulator's jobs last seconds, not minutes
DEMO_TIMEOUT = "90"


def _isolated(runtime: Runtime, env: dict[str, str], stderr: Any) -> Runtime:
    """A runtime that sees only the simulator: never the user's config file or JOBWATCH_* vars."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBWATCH_")}
    demo = Runtime(profile="default", verbose=runtime.verbose, env={**clean, **env},
                   stderr=stderr)
    demo._config = ConfigFile(Path("(none: the demo reads no config file)"), explicit=False,
                              exists=False)
    return demo


def run_demo(runtime: Runtime) -> int:
    from jobwatch.demo.simulator import Simulator
    from jobwatch.output import Output
    from jobwatch.refs import JobRef
    from jobwatch.watch import WaitOptions, watch_jobs

    out = runtime.stderr
    folder = tempfile.mkdtemp(prefix="jobwatch-demo-")
    code = int(ExitCode.INTERRUPTED)
    watched = 0
    try:
        with Simulator(token=f"demo-{secrets.token_hex(8)}") as sim:
            demo = _isolated(runtime, sim.env(), out)
            # Lines under 80 columns, broken between words: a terminal would cut them anywhere.
            out.write(
                "jobwatch demo: a simulator of Retailgrid, MerchantOps, Julep and Claret is\n"
                f"running on {sim.url} (no account, no network). Watching "
                f"{len(sim.demo_jobs)} of\nits jobs, and a sixth that one of them starts, "
                "as `jobwatch wait` would:\n\n")
            out.flush()
            opts = WaitOptions(interval=DEMO_INTERVAL, timeout=DEMO_TIMEOUT,
                               follow_related=True, download_dir=folder)
            refs = [JobRef(provider, None, job_id) for provider, job_id in sim.demo_jobs]
            watched = len(refs)
            # Not resumable (resume=None): the simulator stops with the demo, and a resume
            # command would point at the user's real accounts.
            code = watch_jobs(demo, refs, opts, Output.choose(demo))
    except KeyboardInterrupt:
        code = int(ExitCode.INTERRUPTED)
    if code == ExitCode.INTERRUPTED:
        out.write(_interrupted(folder))
        out.flush()
        return code
    out.write(_closing(folder, code, watched=watched))
    out.flush()
    # One job is scripted to fail: a demo that showed it has worked.
    return 0 if code in (ExitCode.OK, ExitCode.FAILED) else code


def _saved(folder: str) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def _interrupted(folder: str) -> str:
    """The demo's own words on Ctrl-C; removes the download folder when nothing is in it."""
    saved = _saved(folder)
    lines = ["", "demo interrupted: the simulator stopped with it, so no job is left running "
             "anywhere."]
    if saved:
        lines.append(f"Files saved before the interrupt are in {folder}:")
        lines += [f"  {name}" for name in saved]
    else:
        shutil.rmtree(folder, ignore_errors=True)  # at most empty folders inside
        lines.append("Nothing had been saved yet; its temporary folder is removed.")
    lines += ["Run it again, to the end, with: jobwatch demo", ""]
    return "\n".join(lines)


def _closing(folder: str, code: int, *, watched: int) -> str:
    saved = _saved(folder)
    lines = ["", f"Downloads and error reports are in {folder}:"]
    lines += [f"  {name}" for name in saved] or ["  (none)"]
    lines += [
        "",
        # The summary above counts one job more than the opening line announced.
        f"The grid fill the Retailgrid upsert started joined the {watched} jobs watched, as",
        "`jobwatch wait --follow-related` does.",
        *_verdict(code),
        "",
        "Next, on your own jobs (or set them up with: jobwatch config init):",
        "  export JOBWATCH_CLARET_TENANT=yourcompany JOBWATCH_CLARET_TOKEN=...",
        "  jobwatch status claret 12345",
        "  jobwatch wait claret 12345 --timeout 10m",
        "Try status, wait and download by hand: start `jobwatch demo --serve`, then add",
        "-p demo to any command in another terminal.",
        "",
    ]
    return "\n".join(lines)


def _verdict(code: int) -> list[str]:
    """What the watch's exit code would have meant to a script, beside the demo's own."""
    if code == ExitCode.FAILED:
        return ["In a script, that run would have exited 1, because one job is scripted to fail",
                "(0: every job succeeded; see `jobwatch wait --help`). The demo itself exits 0."]
    if code == ExitCode.OK:
        return ["In a script, that run would have exited 0: every job succeeded."]
    return [f"That run ended with exit {code}, and so does the demo "
            "(see `jobwatch wait --help`)."]


# `demo --serve`'s examples, with what each ends with; a test runs them as printed, with no
# variable exported. Job 1002 is scripted to fail, so nothing is chained after it with &&. The
# status line starts 1001's 7-second script, and it has ended by the time the download asks
# for its files. Each line stays under 80 columns.
SERVE_EXAMPLES = (
    ("jobwatch status claret 1001 -p demo", "exit 3 while it runs, then 0"),
    ("jobwatch wait merchantops enr_7Hq2 -p demo", "exit 0, a table of 4 errors"),
    ('jobwatch wait claret 1002 -p demo; echo "exit $?"', "fails: prints exit 1"),
    ("jobwatch download claret 1001 -p demo --download-dir out", "exit 0"),
)
RESET_EXAMPLE = ("jobwatch demo --reset", "exit 0: every job starts over")
BANNER_END = "# Ctrl-C stops the simulator."


def serve(runtime: Runtime, port: int, stop: threading.Event | None = None) -> int:
    """Keep the simulator up until Ctrl-C, published for -p demo (jobwatch/demo/state.py), and
    say how to point jobwatch, and other tools, at it."""
    from jobwatch import long_running
    from jobwatch.demo.simulator import Simulator
    from jobwatch.demo.state import publish
    from jobwatch.ui import write_out

    long_running()
    try:
        sim = Simulator(token=f"demo-{secrets.token_hex(8)}", port=port).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}",
                         hint="choose another --port, or 0 for any free port") from None
    try:
        published = publish(sim, runtime.env)
    except BaseException:
        sim.stop()
        raise
    try:
        # main() turned SIGTERM into KeyboardInterrupt before this ran: either stops it cleanly.
        write_out(banner(sim))
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        published.remove()  # first: -p demo never finds a simulator that has stopped
        sim.stop()
    runtime.stderr.write("simulator stopped\n")
    return 0


def banner(sim: Simulator) -> str:
    """What `demo --serve` prints: -p demo first, then the jobs, then the variables for other
    tools. Every line but the exports' is a shell comment, so pasting the lot sets those."""

    def example(command: str, note: str) -> str:
        return f"#   {command}   # {note}"

    exports = [f"export {k}={shlex.quote(v)}" for k, v in sim.env().items()]
    jobs = [f"#   {p} {j}\n#     {d}" for p, j, d in sim.catalog]
    return "\n".join([
        "# jobwatch simulator of Retailgrid, MerchantOps, Julep and Claret",
        f"# on {sim.url}, until Ctrl-C here.",
        "#",
        "# While it runs, -p demo (--profile demo) points jobwatch at it from any",
        "# terminal, even after a restart. Try these in another one, in this order:",
        *(example(command, note) for command, note in SERVE_EXAMPLES),
        "#",
        "# Each job starts when first asked about. To watch every job from its start",
        "# again, restart this simulator, or:",
        example(*RESET_EXAMPLE),
        "#",
        "# Jobs it knows:",
        *jobs,
        "#",
        "# For tools other than jobwatch, the same settings as environment variables",
        "# (a restart changes the token: -p demo follows it, these do not):",
        *exports,
        BANNER_END,
        "",
    ])


def reset(runtime: Runtime) -> int:
    """`jobwatch demo --reset`: every job of the running simulator starts over."""
    from jobwatch.demo import link

    link.reset(runtime.env, runtime.request_log)
    runtime.stderr.write("jobwatch demo: every simulated job starts from its beginning at its "
                         "next request\n")
    return 0
