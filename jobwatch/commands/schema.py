"""`jobwatch schema`: the JSON Schema of every JSON object jobwatch prints."""

from __future__ import annotations

from jobwatch.commands.base import examples

SUMMARY = "Print the JSON Schema of the --json and --events output."
HELP = """Print the JSON Schema of the objects `--json` and `--events` print.

One document, with a definition for the job (`status --json`), the `wait --json` and
`download --json` line, and each `wait --events` object. It ships inside the package and is
generated from the same models that print the JSON.
"""
EXAMPLES = examples(
    "jobwatch schema > jobwatch.schema.json",
    "jobwatch schema | jq '.[\"$defs\"] | keys'",
)


def schema() -> int:
    from importlib.resources import files

    from jobwatch.ui import write_out

    write_out(files("jobwatch").joinpath("schema.json").read_text(encoding="utf-8"))
    return 0
