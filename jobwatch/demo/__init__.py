"""The built-in simulator of the four providers, used by `jobwatch demo` and the tests.

``from jobwatch.demo import Simulator`` works, but the server module is imported only then, so
importing this package stays free.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Simulator"]


def __getattr__(name: str) -> Any:
    if name == "Simulator":
        from jobwatch.demo.simulator import Simulator

        return Simulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
