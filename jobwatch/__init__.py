"""jobwatch: watch long-running SaaS jobs from the command line."""

__version__ = "0.1.0"
