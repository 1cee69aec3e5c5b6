"""The provider names, for the modules that must not import the adapters to know them."""

from jobwatch.registry import NAMES as PROVIDERS

__all__ = ["PROVIDERS"]
