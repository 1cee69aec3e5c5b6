"""`jobwatch providers`: the providers, their endpoints and the profile fields each needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from jobwatch.commands.base import examples

if TYPE_CHECKING:
    from jobwatch.adapters.base import Adapter

SUMMARY = "List the providers, their endpoints and profile fields."
HELP = "List the providers, their endpoints and the profile fields each needs."
EXAMPLES = examples(
    "jobwatch providers",
    "jobwatch providers | grep -w retailgrid",
)


ID_WORDS = {"UUIDs": "UUID", "integers": "integer"}  # an adapter's id_form, in a word


def providers() -> int:
    from jobwatch.ui import write_out

    write_out(providers_text())
    return 0


def providers_text(table: Mapping[str, type[Adapter]] | None = None) -> str:
    """A row per provider (grep-able: its name starts each of its lines), within 80 columns,
    then its endpoints and the fields a profile may have, from the registry."""
    import textwrap

    from jobwatch.adapters import ADAPTERS
    from jobwatch.adapters.capabilities import has_detail_endpoint
    from jobwatch.config import COMMON_FIELDS, TOKEN_FIELDS
    from jobwatch.registry import REGISTRY

    adapters = ADAPTERS if table is None else table

    rows = [("PROVIDER", "JOB ID", "NEEDS", "DEFAULT BASE_URL")]
    for name, cls in adapters.items():
        needs = list(cls.required) + ([] if cls.default_base_url else ["base_url"])
        rows.append((name, ID_WORDS.get(cls.id_form.split()[0], "string"),
                     ", ".join(needs) or "-", cls.default_base_url or "(none)"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append("")
    for name, cls in adapters.items():
        lines.append(f"{name} polls GET {{base_url}}{cls.status_path}")
        detail = getattr(cls, "detail_path", None)
        if detail and has_detail_endpoint(cls):
            lines.append(f"{name} calls GET {{base_url}}{detail} once, when a job ends")
    optional = [f for f in COMMON_FIELDS if f not in TOKEN_FIELDS and f != "base_url"]
    own = [f"{field} ({name})" for name, p in REGISTRY.items() for field in p.fields
           if name in adapters and field not in adapters[name].required]
    lines += ["", "Every profile needs a token: token, token_env or token_command.",
              *textwrap.wrap(f"Optional fields: {', '.join([*own, *optional])}.", 79),
              "Each field can also come from JOBWATCH_<PROVIDER>_<FIELD>."]
    return "\n".join(lines) + "\n"
