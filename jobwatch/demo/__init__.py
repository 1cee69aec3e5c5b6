"""The built-in simulator of the providers, used by `jobwatch demo`, `-p demo` and the tests.

``from jobwatch.demo import Simulator`` works, but the server module is imported only then, so
importing this package stays free.

- catalog.py   the scripted jobs: what each does over time (script.py: phases and clocks)
- claret.py, merchantops.py, julep.py, retailgrid.py   each provider's routes and wire format,
  named by its line in jobwatch/registry.py (routes.py: what they share)
- server.py    HTTP, the token check, the job clocks, dispatch (simulator.py re-exports it)
- state.py, link.py   how `-p demo` finds a running `demo --serve` and checks it is ours
- run.py       `jobwatch demo` and `jobwatch demo --serve`
"""

from __future__ import annotations

from typing import Any

__all__ = ["Simulator"]


def __getattr__(name: str) -> Any:
    if name == "Simulator":
        from jobwatch.demo.server import Simulator

        return Simulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
