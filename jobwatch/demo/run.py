"""`jobwatch demo`: the simulator plus the real `wait` code path, for someone with no account."""

from __future__ import annotations

import os
import secrets
import shlex
import tempfile
import threading
from pathlib import Path

from jobwatch.config import ConfigFile
from jobwatch.errors import ExitCode, UsageError
from jobwatch.runtime import Runtime

DEMO_INTERVAL = "0.5"  # the simulator's jobs last seconds, not minutes
DEMO_TIMEOUT = "90"


def _isolated(runtime: Runtime, env: dict[str, str]) -> Runtime:
    """A runtime that sees only the simulator: never the user's config file or JOBWATCH_* vars."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBWATCH_")}
    demo = Runtime(profile="default", verbose=runtime.verbose, env={**clean, **env},
                   stderr=runtime.stderr)
    demo._config = ConfigFile(Path("(none: the demo reads no config file)"), explicit=False,
                              exists=False)
    return demo


def run_demo(runtime: Runtime) -> int:
    from jobwatch.demo.simulator import Simulator
    from jobwatch.wait import WaitOptions, watch_jobs

    out = runtime.stderr
    with Simulator(token=f"demo-{secrets.token_hex(8)}") as sim:
        demo = _isolated(runtime, sim.env())
        folder = tempfile.mkdtemp(prefix="jobwatch-demo-")
        out.write(
            f"jobwatch demo: a simulator of Retailgrid, MerchantOps, Julep and Claret is running "
            f"on {sim.url}\n(no account, no network). Watching {len(sim.demo_jobs)} of its jobs, "
            "exactly as `jobwatch wait` would:\n\n")
        out.flush()
        opts = WaitOptions(interval=DEMO_INTERVAL, timeout=DEMO_TIMEOUT, follow_related=True,
                           download_dir=folder)
        code = watch_jobs(demo, sim.demo_jobs, opts)
    out.write(_closing(folder, code))
    out.flush()
    # One job is scripted to fail: a demo that showed it has worked.
    return 0 if code in (ExitCode.OK, ExitCode.FAILED) else code


def _closing(folder: str, code: int) -> str:
    saved = sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())
    lines = ["", f"Downloads and error reports are in {folder}:"]
    lines += [f"  {name}" for name in saved] or ["  (none)"]
    lines += [
        "",
        f"In a script, that run would have exited {code} "
        "(0 all succeeded, 1 a job failed; see `jobwatch wait --help`).",
        "",
        "Next, on your own jobs:",
        "  export JOBWATCH_CLARET_TENANT=yourcompany JOBWATCH_CLARET_TOKEN=...   "
        "# or: jobwatch config init",
        "  jobwatch status claret 12345",
        "  jobwatch wait claret 12345 --timeout 10m",
        "Try status, wait and download by hand against the simulator: jobwatch demo --serve",
        "",
    ]
    return "\n".join(lines)


def serve(runtime: Runtime, port: int, stop: threading.Event | None = None) -> int:
    """Keep the simulator up until Ctrl-C and say how to point jobwatch at it."""
    from jobwatch.demo.simulator import Simulator
    from jobwatch.ui import write_out

    try:
        sim = Simulator(token=f"demo-{secrets.token_hex(8)}", port=port).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}",
                         hint="choose another --port, or 0 for any free port") from None
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sim.env().items())
    jobs = "\n".join(f"#   {p:<11} {j:<38} {d}" for p, j, d in sim.catalog)
    banner = (
        f"# jobwatch simulator on {sim.url} (Ctrl-C stops it). In a second terminal:\n"
        f"{exports}\n\n"
        "# then, for example:\n"
        "#   jobwatch status claret 1001\n"
        "#   jobwatch wait merchantops enr_7Hq2   # one provider per command\n"
        "#   jobwatch wait claret 1001 1002 && jobwatch download claret 1001\n"
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
