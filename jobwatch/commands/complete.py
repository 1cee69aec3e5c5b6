"""What Tab offers: providers and job references, profile names from the config file, and
artifact categories. Each answer is computed when the shell asks (the shipped scripts run
`jobwatch` with _JOBWATCH_COMPLETE set), so nothing here may fail loudly: no answer is
better than a traceback in the middle of a command line."""

from __future__ import annotations

from typer._click import Context

from jobwatch.providers import PROVIDERS


def job_refs(ctx: Context, args: list[str], incomplete: str) -> list[str]:
    """A word of JOBS: first the provider names; a whole provider name also as `provider:`
    and `provider@` (the reference forms); after `provider@`, the profiles as
    `provider@profile:`. After a provider alone come its ids, which only it knows."""
    given = ctx.params.get("jobs") or []
    if given and ":" not in given[0]:
        return []
    name, at, profile = incomplete.partition("@")
    if at:
        if name.lower() not in PROVIDERS:
            return []
        return [f"{name}@{p}:" for p in _profiles(ctx, name.lower()) if p.startswith(profile)]
    if ":" in incomplete:
        return []
    word = incomplete.lower()
    if word in PROVIDERS:
        return [word, f"{word}:", f"{word}@"] if not given else [f"{word}:", f"{word}@"]
    return [p for p in PROVIDERS if p.startswith(word)]


def profile_names(ctx: Context, incomplete: str) -> list[str]:
    """After `-p`/`--profile`: every profile the config file names, for any provider."""
    names = {"default"}
    for provider in PROVIDERS:
        names.update(_profiles(ctx, provider))
    return sorted(n for n in names if n.startswith(incomplete))


def categories(ctx: Context, incomplete: str) -> list[str]:
    """After `--artifacts`: the categories of the providers on the command line (all of
    them when none is given yet), completing the last of a comma-separated list."""
    from jobwatch.adapters import ADAPTERS

    jobs = ctx.params.get("jobs") or []
    named = {word.partition(":")[0].partition("@")[0].lower() for word in jobs[:1]} | {
        word.partition(":")[0].partition("@")[0].lower() for word in jobs if ":" in word}
    providers = [p for p in PROVIDERS if p in named] or list(PROVIDERS)
    known = list(dict.fromkeys(c for p in providers for c in ADAPTERS[p].artifact_categories))
    done, comma, last = incomplete.rpartition(",")
    head = done + comma
    taken = set(done.split(",")) if done else set()
    return [head + c for c in known if c.startswith(last) and c not in taken]


def _profiles(ctx: Context, provider: str) -> list[str]:
    """The provider's profile names in the config file the command line (or
    JOBWATCH_CONFIG) points at; none when it cannot be read."""
    from jobwatch.config import load_file
    from jobwatch.config import profile_names as named_in
    from jobwatch.errors import JobwatchError

    path = None
    node: Context | None = ctx
    while node is not None:  # --config may stand before the command or after it
        path = node.params.get("config") or path
        node = node.parent
    try:
        return ["default", *(n for n in named_in(load_file(path), provider)
                             if n != "default")]
    except (JobwatchError, OSError):
        return ["default"]
