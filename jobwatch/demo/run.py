"""`jobwatch demo`: the simulator plus the real `wait` code path, for someone with no account."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from jobwatch.config import ConfigFile
from jobwatch.errors import ExitCode, UsageError
from jobwatch.runtime import Runtime

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
    try:
        with Simulator(token=f"demo-{secrets.token_hex(8)}") as sim:
            demo = _isolated(runtime, sim.env(), out)
            # Lines under 80 columns, broken between words: a terminal would cut them anywhere.
            out.write(
                "jobwatch demo: a simulator of Retailgrid, MerchantOps, Julep and Claret is\n"
                f"running on {sim.url} (no account, no network). Watching\n"
                f"{len(sim.demo_jobs)} of its jobs, exactly as `jobwatch wait` would:\n\n")
            out.flush()
            opts = WaitOptions(interval=DEMO_INTERVAL, timeout=DEMO_TIMEOUT,
                               follow_related=True, download_dir=folder)
            refs = [JobRef(provider, None, job_id) for provider, job_id in sim.demo_jobs]
            # Not resumable (resume=None): the simulator stops with the demo, and a resume
            # command would point at the user's real accounts.
            code = watch_jobs(demo, refs, opts, Output.choose(demo))
    except KeyboardInterrupt:
        code = int(ExitCode.INTERRUPTED)
    if code == ExitCode.INTERRUPTED:
        out.write(_interrupted(folder))
        out.flush()
        return code
    out.write(_closing(folder, code))
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


def _closing(folder: str, code: int) -> str:
    saved = _saved(folder)
    lines = ["", f"Downloads and error reports are in {folder}:"]
    lines += [f"  {name}" for name in saved] or ["  (none)"]
    lines += [
        "",
        f"In a script, that run would have exited {code} "
        "(0 all succeeded, 1 a job failed;",
        "see `jobwatch wait --help`).",
        "",
        "Next, on your own jobs (or set them up with: jobwatch config init):",
        "  export JOBWATCH_CLARET_TENANT=yourcompany JOBWATCH_CLARET_TOKEN=...",
        "  jobwatch status claret 12345",
        "  jobwatch wait claret 12345 --timeout 10m",
        "Try status, wait and download by hand against the simulator:",
        "  jobwatch demo --serve",
        "",
    ]
    return "\n".join(lines)


# `demo --serve`'s examples, with what each ends with; a test runs them as printed. Job 1002 is
# scripted to fail, so nothing is chained after it with &&. The status line starts 1001's
# 7-second script, and it has ended by the time the download asks for its files.
SERVE_EXAMPLES = (
    ("jobwatch status claret 1001", "exit 3 while the import runs, 0 once it has ended"),
    ("jobwatch wait merchantops enr_7Hq2", "exit 0, with a table of the job's 4 errors"),
    ('jobwatch wait claret 1002; echo "exit $?"', "scripted to fail: prints exit 1"),
    ("jobwatch download claret 1001 --download-dir claret-files", "it has ended: exit 0"),
)


def serve(runtime: Runtime, port: int, stop: threading.Event | None = None) -> int:
    """Keep the simulator up until Ctrl-C and say how to point jobwatch at it."""
    from jobwatch import long_running
    from jobwatch.demo.simulator import Simulator
    from jobwatch.ui import write_out

    long_running()
    try:
        sim = Simulator(token=f"demo-{secrets.token_hex(8)}", port=port).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}",
                         hint="choose another --port, or 0 for any free port") from None
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sim.env().items())
    jobs = "\n".join(f"#   {p:<11} {j:<38} {d}" for p, j, d in sim.catalog)
    examples = "\n".join(f"#   {command}   # {note}" for command, note in SERVE_EXAMPLES)
    banner = (
        f"# jobwatch simulator on {sim.url} (Ctrl-C stops it). In a second terminal:\n"
        f"{exports}\n\n"
        "# then try, in this order:\n"
        f"{examples}\n"
        f"# Jobs it knows (each starts when first asked about):\n{jobs}\n")
    try:
        # main() turned SIGTERM into KeyboardInterrupt before this ran: either stops it cleanly.
        write_out(banner)
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    runtime.stderr.write("simulator stopped\n")
    return 0
