"""The polling engine: watches jobs on one client until each has settled, the deadline passes
or the user interrupts. The clock, the fetch, the workers and the renderer are passed in, so a
10-minute timeout is tested in milliseconds.

Threads: the loop runs on the caller's thread and is the only one that changes the schedule
and the outcomes, and the only one the engine calls the renderer from. Polls, and each ended
job's ``on_end`` (its detail call and downloads), run on a small pool of daemon threads and
hand their results back through one queue (a deque, and an Event set only while the loop
waits); the loop handles each result as it arrives, so a slow request or a long download
holds up only its own job. ``on_end`` code may call the renderer from its worker thread too
(the renderers take a lock). The observers hear everything from the loop but the files
saved, which ``on_end`` tells them of from its worker (``Observers`` takes a lock too).

Rooms:

- ``loop``      Engine and Settings: the loop, each result's handling, the stop protocol
- ``dispatch``  the hand-off: one task per job in flight, results back, the loop woken
- ``workers``   where tasks run: daemon threads, or inline (``workers=0``)
- ``schedule``  when each watch is next due
- ``ledger``    the watches in command-line order, and the counts that keep answers O(1)
- ``retry``     after a failed poll: retry in so many seconds, or give up (pure)
- ``outcomes``  what a watch counts as, and the run's exit code (pure)
- ``hooks``     JobHooks: on_end, needs_end, discover, has_errors, on_stop (the caller's)
- ``events``    Observer: what the engine sees, for --events and --on-end
- ``renderer``  the Renderer protocol the displays implement
- ``watch``     Watch: one job being watched
- ``stop``      StopSignal and Cancelled: how work in flight learns of a stop
"""

from jobwatch.engine.events import NoObserver, Observer, Observers
from jobwatch.engine.hooks import JobHooks
from jobwatch.engine.loop import Engine, Settings
from jobwatch.engine.outcomes import job_failed, settle
from jobwatch.engine.renderer import Renderer
from jobwatch.engine.retry import MAX_FAILURES, MIN_INTERVAL, RetryPolicy
from jobwatch.engine.stop import Cancelled, StopSignal
from jobwatch.engine.watch import Watch

__all__ = ["MAX_FAILURES", "MIN_INTERVAL", "Cancelled", "Engine", "JobHooks", "NoObserver",
           "Observer", "Observers", "Renderer", "RetryPolicy", "Settings", "StopSignal",
           "Watch", "job_failed", "settle"]
