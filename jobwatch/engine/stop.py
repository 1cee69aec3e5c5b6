"""How the engine tells work in flight that the watch has stopped."""

from __future__ import annotations

import threading


class StopSignal(threading.Event):
    """Set once when the watch stops early; ``reason`` is "timeout", "interrupted" or
    "stopped" (--fail-fast, a refused token). on_end code in a worker thread checks it
    between steps and gives up, cleaning after itself."""

    reason: str | None = None

    def stop(self, reason: str) -> None:
        if not self.is_set():
            self.reason = reason
            self.set()


class Cancelled(BaseException):
    """Raised inside on_end work once the watch has stopped. A BaseException, as
    KeyboardInterrupt is, so no `except Exception` on the way swallows it and every `finally`
    (the removal of a .part file) runs."""
