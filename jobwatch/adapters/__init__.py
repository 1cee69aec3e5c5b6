"""The provider adapters, by name: jobwatch/registry.py says which class serves each."""

from __future__ import annotations

from jobwatch.adapters.base import Adapter
from jobwatch.registry import REGISTRY

ADAPTERS: dict[str, type[Adapter]] = {name: p.load() for name, p in REGISTRY.items()}

__all__ = ["ADAPTERS", "Adapter"]
