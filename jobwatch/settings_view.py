"""`config show`, `config init` and `config check`: the config as a person sees it."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from jobwatch.config import (
    PROVIDERS,
    Profile,
    profile_names,
    resolve_profile,
    section_header,
    set_by_env,
)
from jobwatch.errors import ConfigError, ExitCode, JobwatchError

if TYPE_CHECKING:
    import httpx

    from jobwatch.adapters.base import Adapter
    from jobwatch.config import ConfigFile
    from jobwatch.runtime import Runtime

STARTER = """\
# jobwatch configuration. Profiles are per provider: [<provider>.<profile>].
# Pick a profile with --profile NAME (or JOBWATCH_PROFILE); "default" is used otherwise.
# Every field can also come from the environment: JOBWATCH_<PROVIDER>_<FIELD>,
# e.g. JOBWATCH_CLARET_TOKEN, which wins over this file.
# Token sources (one per profile): token = "..." (keep this file chmod 600),
# token_env = "VAR" (read from that variable), token_command = "pass show x" (its stdout;
# run without a shell, 10 s limit).

[defaults]
# timeout = "30m"                      # wait gives up after this (exit 124)
# download_dir = "~/jobwatch-downloads"  # where wait/download put artifacts

# [claret.default]
# tenant = "yourcompany"
# token_env = "CLARET_TOKEN"
# base_url = "https://plan.claret.app"

# [merchantops.default]
# token_env = "MERCHANTOPS_TOKEN"
# organization_id = "org_123"

# [julep.default]
# token_env = "JULEP_API_KEY"

# [retailgrid.default]
# base_url = "https://api.retailgrid.example"
# token_env = "RETAILGRID_TOKEN"
"""


def _profiles(runtime: Runtime) -> list[tuple[str, str]]:
    config = runtime.config()
    found = []
    for provider in PROVIDERS:
        names = profile_names(config, provider)
        # A field of the provider's own, not any JOBWATCH_JULEP_*: JOBWATCH_JULEP_TENANT
        # (claret's field) does not make a julep profile.
        if "default" not in names and set_by_env(provider, runtime.env):
            names = ["default", *names]
        found += [(provider, name) for name in names]
    return found


def _resolve(runtime: Runtime, provider: str, name: str) -> Profile:
    from jobwatch.adapters import ADAPTERS

    return resolve_profile(runtime.config(), provider, name, runtime.env,
                           default_base_url=ADAPTERS[provider].default_base_url)


def _shown(key: str, value: Any) -> str:
    """A value as TOML, with what must not be printed hidden: tokens, header values, and the
    password of a URL (a base_url carrying one is refused, but shown first)."""
    if key == "token":
        return '"***"'
    if key == "headers":
        return "{" + ", ".join(f'{json.dumps(k)} = "***"' for k in value) + "}"
    if isinstance(value, bool):
        return str(value).lower()
    if key == "base_url" and isinstance(value, str):
        from jobwatch.redact import redact_userinfo

        return json.dumps(redact_userinfo(value))
    return json.dumps(value)


def _note(key: str, value: Any, runtime: Runtime) -> str:
    if key == "token_env":
        return "; " + ("set" if value in runtime.env else "NOT SET") + " in the environment"
    return ""


def render_config(runtime: Runtime) -> str:
    from jobwatch.runtime import DEMO_PROFILE

    config = runtime.config()
    lines = [f"# config file: {config.path} ({'found' if config.exists else 'not found'})"]
    defaults = runtime.defaults()
    if defaults.values:
        lines.append("\n[defaults]")
        lines += [f"{k} = {json.dumps(v.value)}  # {v.source}" for k, v in defaults.values.items()]
    profiles = _profiles(runtime)
    if runtime.profile_chosen:  # `config show -p staging`: the staging profiles only
        chosen = [(p, n) for p, n in profiles if n == runtime.profile]
        if not chosen and runtime.profile == DEMO_PROFILE:
            lines.append(f"\n# -p {DEMO_PROFILE}: every provider's simulator, served by "
                         "`jobwatch demo --serve` (see `jobwatch config check -p demo`)")
            return runtime.redact("\n".join(lines)) + "\n"
        if not chosen:
            known = ", ".join(sorted({n for _, n in profiles})) or "none"
            raise ConfigError(f"no profile named '{runtime.profile}' to show in {config.path} "
                              f"or the environment (profiles: {known})",
                              hint="leave out --profile to show every profile")
        profiles = chosen
    for provider, name in profiles:
        profile = _resolve(runtime, provider, name)
        lines.append(f"\n{section_header(provider, name)}")
        for key, found in profile.values.items():
            lines.append(f"{key} = {_shown(key, found.value)}  # {found.source}"
                         f"{_note(key, found.value, runtime)}")
    if not profiles:
        lines.append(f"\n# no profiles yet: {_no_profiles_hint(config)}, or set "
                     "JOBWATCH_<PROVIDER>_TOKEN and friends")
    return runtime.redact("\n".join(lines)) + "\n"


def _no_profiles_hint(config: ConfigFile) -> str:
    if config.exists:
        return f"add a [<provider>.default] section to {config.path}"
    return "run 'jobwatch config init'"


def check_command(runtime: Runtime) -> str:
    """The `config check` to suggest after `config init`: with the --config that was given."""
    import shlex

    if runtime.config_path:
        return shlex.join(["jobwatch", "--config", runtime.config_path, "config", "check"])
    return "jobwatch config check"


def write_starter(runtime: Runtime, *, force: bool) -> str:
    """The starter file, written as downloads are (safefs.write_atomically): through a .part of
    its own, fsynced, renamed into place; a symlink or directory at the target is refused."""
    from jobwatch.errors import DownloadError
    from jobwatch.safefs import write_all, write_atomically

    target = runtime.config_file_path()
    if os.path.lexists(target) and not force:
        raise ConfigError(f"{target} already exists", hint="add --force to overwrite it")
    try:
        os.makedirs(target.parent, mode=0o700, exist_ok=True)
        write_atomically(target.parent, target.name,
                         lambda fd: write_all(fd, STARTER.encode("utf-8")), mode=0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    except DownloadError as exc:
        raise ConfigError(exc.message) from None
    return str(target)


class EndpointNotFound(ConfigError):
    """`config check`: the probe's URL is no endpoint of the provider (a wrong base_url or
    tenant). Exit 6: the config is wrong, whatever the token."""


VERDICTS = {ExitCode.AUTH: "auth refused", ExitCode.CONFIG: "config error",
            ExitCode.UNREACHABLE: "unreachable"}


def probe(runtime: Runtime, adapter: Adapter, client: httpx.Client) -> None:
    """One authenticated request that passes only when the base_url (and tenant) lead to the
    status endpoint and the token is accepted. A bare 404 proves neither: a FastAPI service
    answers a route that does not exist before it looks at the token."""
    from urllib.parse import urlsplit

    from jobwatch.http import open_response

    url = adapter.status_url(adapter.probe_id)
    response = open_response(client, url, credentials=adapter.credentials(),
                             trusted=adapter.origin, redact=runtime.redact,
                             log=runtime.request_log)
    if adapter.probe_accepted(response):
        return
    if response.status_code == 404:
        fields = "base_url and tenant" if "tenant" in adapter.required else "base_url"
        raise EndpointNotFound(f"HTTP 404 for {urlsplit(url).path}: no such endpoint, "
                               f"check {fields}")
    adapter.check(response, adapter.probe_id, runtime.request_log)  # raises if not a job


def check_profiles(runtime: Runtime) -> int:
    from jobwatch.runtime import DEMO_PROFILE
    from jobwatch.ui import write_out

    config = runtime.config()  # a broken file fails here, with its line and column
    runtime.defaults().on_end()  # and an on_end that `wait` would refuse, here
    profiles = _profiles(runtime)
    if not profiles and runtime.profile == DEMO_PROFILE:
        profiles = [(provider, DEMO_PROFILE) for provider in PROVIDERS]
    if not profiles:
        raise ConfigError(f"no profiles to check in {config.path} or the environment",
                          hint=f"{_no_profiles_hint(config)}, or set JOBWATCH_<PROVIDER>_TOKEN")
    if runtime.profile_chosen:  # `config check -p staging`: the staging profiles only
        chosen = [(p, n) for p, n in profiles if n == runtime.profile]
        if not chosen and runtime.profile == DEMO_PROFILE:
            # `-p demo` without a [<provider>.demo] section: the simulator, for every provider.
            chosen = [(provider, DEMO_PROFILE) for provider in PROVIDERS]
        if not chosen:
            known = ", ".join(sorted({n for _, n in profiles}))
            raise ConfigError(f"no profile named '{runtime.profile}' to check in {config.path} "
                              f"or the environment (profiles: {known})",
                              hint="leave out --profile to check every profile")
        profiles = chosen
    worst = ExitCode.OK
    for provider, name in profiles:
        runtime.profile = name
        source = ""
        try:
            adapter = runtime.adapter(provider)
            source = f"token from {adapter.token_source}"
            with runtime.client(adapter, pool_size=1) as client:
                probe(runtime, adapter, client)
            verdict, code = "ok", ExitCode.OK
        except JobwatchError as exc:
            verdict = ("not found" if isinstance(exc, EndpointNotFound)
                       else VERDICTS.get(exc.exit_code, "error"))
            code = exc.exit_code
            source = f"{source}; {exc.message}" if source else exc.message
        write_out(f"{provider + '.' + name:<24} {verdict:<13} {runtime.redact(source)}\n")
        if worst == ExitCode.OK and code != ExitCode.OK:
            worst = code
    return int(worst)
