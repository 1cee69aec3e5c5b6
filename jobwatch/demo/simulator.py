"""Where the tests and older callers import the simulator from: ``Simulator`` is the server's
(jobwatch/demo/server.py); the scripted jobs are in catalog.py, each provider's routes and
wire format in its own module (claret.py, merchantops.py, julep.py, retailgrid.py)."""

from jobwatch.demo.server import PROVIDERS, Simulator

__all__ = ["PROVIDERS", "Simulator"]
