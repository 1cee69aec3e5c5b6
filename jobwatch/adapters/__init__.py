"""The provider adapters, in one explicit table."""

from __future__ import annotations

from jobwatch.adapters.base import Adapter
from jobwatch.adapters.claret import ClaretAdapter
from jobwatch.adapters.julep import JulepAdapter
from jobwatch.adapters.merchantops import MerchantOpsAdapter
from jobwatch.adapters.retailgrid import RetailgridAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "retailgrid": RetailgridAdapter,
    "merchantops": MerchantOpsAdapter,
    "julep": JulepAdapter,
    "claret": ClaretAdapter,
}

__all__ = ["ADAPTERS", "Adapter"]
