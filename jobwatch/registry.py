"""The providers jobwatch knows, in one table: adding a provider is an adapter module, a line
here, payload fixtures (tests/payloads/<name>/) and a simulator script (jobwatch/demo/).

Names, per-provider profile fields, help words, completion, the adapters table and the
simulator's routes all derive from this table. It imports nothing heavy: `--help` and Tab
completion read it without loading an adapter (which would bring pydantic).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobwatch.adapters.base import Adapter


@dataclass(frozen=True)
class Provider:
    name: str  # on the command line, in config sections and in JOBWATCH_<NAME>_* variables
    title: str  # in prose
    adapter: str  # "module:Class" of its adapter, imported when first needed
    fields: tuple[str, ...] = ()  # profile fields of its own, beyond those every profile has

    def load(self) -> type[Adapter]:
        module, _, name = self.adapter.partition(":")
        adapter: type[Adapter] = getattr(importlib.import_module(module), name)
        return adapter


REGISTRY: dict[str, Provider] = {p.name: p for p in (
    Provider("retailgrid", "Retailgrid", "jobwatch.adapters.retailgrid:RetailgridAdapter"),
    Provider("merchantops", "MerchantOps", "jobwatch.adapters.merchantops:MerchantOpsAdapter",
             fields=("organization_id",)),
    Provider("julep", "Julep", "jobwatch.adapters.julep:JulepAdapter"),
    Provider("claret", "Claret", "jobwatch.adapters.claret:ClaretAdapter", fields=("tenant",)),
)}
NAMES: tuple[str, ...] = tuple(REGISTRY)


def names_text(conjunction: str = "or") -> str:
    """'retailgrid, merchantops, julep or claret', for help texts and messages."""
    return f"{', '.join(NAMES[:-1])} {conjunction} {NAMES[-1]}"


def titles_text() -> str:
    """'Retailgrid, MerchantOps, Julep and Claret'."""
    titles = [p.title for p in REGISTRY.values()]
    return f"{', '.join(titles[:-1])} and {titles[-1]}"
