"""The providers jobwatch knows, in one table: adding a provider is an adapter module, a line
here, payload fixtures (tests/payloads/<name>/) and a simulator script (jobwatch/demo/).

Names, per-provider profile fields, help words, completion, the adapters table and the
simulator's routes all derive from this table. It imports nothing heavy: `--help` and Tab
completion read it without loading an adapter (which would bring pydantic).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobwatch.adapters.base import Adapter
    from jobwatch.demo.routes import ProviderSim


@dataclass(frozen=True)
class Provider:
    name: str  # on the command line, in config sections and in JOBWATCH_<NAME>_* variables
    title: str  # in prose
    adapter: str  # "module:Class" of its adapter, imported when first needed
    fields: tuple[str, ...] = ()  # profile fields of its own, beyond those every profile has
    # "module:Class" of its simulator script (routes and wire format), for the demo and tests
    demo: str = field(kw_only=True)

    def load(self) -> type[Adapter]:
        adapter: type[Adapter] = _load(self.adapter)
        return adapter

    def load_demo(self) -> type[ProviderSim]:
        sim: type[ProviderSim] = _load(self.demo)
        return sim


def _load(where: str) -> type:
    module, _, name = where.partition(":")
    loaded: type = getattr(importlib.import_module(module), name)
    return loaded


REGISTRY: dict[str, Provider] = {p.name: p for p in (
    Provider("retailgrid", "Retailgrid", "jobwatch.adapters.retailgrid:RetailgridAdapter",
             demo="jobwatch.demo.retailgrid:RetailgridSim"),
    Provider("merchantops", "MerchantOps", "jobwatch.adapters.merchantops:MerchantOpsAdapter",
             fields=("organization_id",), demo="jobwatch.demo.merchantops:MerchantOpsSim"),
    Provider("julep", "Julep", "jobwatch.adapters.julep:JulepAdapter",
             demo="jobwatch.demo.julep:JulepSim"),
    Provider("claret", "Claret", "jobwatch.adapters.claret:ClaretAdapter", fields=("tenant",),
             demo="jobwatch.demo.claret:ClaretSim"),
)}
NAMES: tuple[str, ...] = tuple(REGISTRY)


def names_text(conjunction: str = "or") -> str:
    """'retailgrid, merchantops, julep or claret', for help texts and messages."""
    return f"{', '.join(NAMES[:-1])} {conjunction} {NAMES[-1]}"


def titles_text() -> str:
    """'Retailgrid, MerchantOps, Julep and Claret'."""
    titles = [p.title for p in REGISTRY.values()]
    return f"{', '.join(titles[:-1])} and {titles[-1]}"
