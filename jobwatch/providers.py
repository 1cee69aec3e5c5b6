"""The provider names, for the modules that must not import the adapters to know them."""

PROVIDERS = ("retailgrid", "merchantops", "julep", "claret")
