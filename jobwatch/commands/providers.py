"""`jobwatch providers`: the providers, their endpoints and the profile fields each needs."""

from __future__ import annotations

from jobwatch.commands.base import examples

SUMMARY = "List the providers, their endpoints and profile fields."
HELP = "List the providers, their endpoints and the profile fields each needs."
EXAMPLES = examples(
    "jobwatch providers",
    "jobwatch providers | grep -w retailgrid",
)


def providers() -> int:
    from jobwatch.adapters import ADAPTERS
    from jobwatch.ui import providers_text, write_out

    write_out(providers_text(ADAPTERS))
    return 0
