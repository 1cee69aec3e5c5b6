"""What one run of the CLI shares: global options, the config, secrets to redact, stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from jobwatch.errors import ConfigError, UsageError

if TYPE_CHECKING:
    import ssl

    import httpx

    from jobwatch.adapters.base import Adapter
    from jobwatch.config import ConfigFile, Defaults
    from jobwatch.demo.state import State as DemoState
    from jobwatch.http import Log
    from jobwatch.redact import Redactor

# The profile that points every provider at a running `jobwatch demo --serve` (jobwatch.demo.
# link), unless the config defines a profile of that name for the provider.
DEMO_PROFILE = "demo"


@dataclass
class Runtime:
    config_path: str | None = None
    profile: str = "default"
    verbose: bool = False
    profile_chosen: bool = False  # by --profile or JOBWATCH_PROFILE, not the default
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    secrets: set[str] = field(default_factory=set)  # shared with __main__'s last resort
    _config: ConfigFile | None = None
    _redact: Redactor | None = None
    _warned: set[str] = field(default_factory=set)
    _simulator: DemoState | None = None  # for -p demo

    def __post_init__(self) -> None:
        # An empty value given on purpose is a mistake, not "use the default"; an empty
        # JOBWATCH_CONFIG / JOBWATCH_PROFILE counts as unset, as shells and Click treat it.
        if self.config_path == "":
            raise UsageError("--config needs a file path, got an empty one")
        if self.profile == "":
            raise UsageError("--profile needs a profile name, got an empty one")

    @classmethod
    def from_options(cls, *, config: str | None, profile: str | None, verbose: bool,
                     secrets: set[str] | None = None,
                     env: Mapping[str, str] = os.environ) -> Runtime:
        """The runtime for the global options as parsed (None: not given), for the fast path
        and the Typer callback alike. A given option wins over its variable; an empty
        JOBWATCH_CONFIG or JOBWATCH_PROFILE counts as unset, as shells and Click treat it."""
        profile = profile if profile is not None else env.get("JOBWATCH_PROFILE") or None
        return cls(config_path=config if config is not None else env.get("JOBWATCH_CONFIG") or None,
                   profile="default" if profile is None else profile,
                   profile_chosen=profile is not None, verbose=verbose, env=env,
                   secrets=set() if secrets is None else secrets)

    @property
    def redact(self) -> Redactor:
        if self._redact is None:
            from jobwatch.redact import Redactor

            self._redact = Redactor(store=self.secrets)
        return self._redact

    def warn(self, message: str) -> None:
        """Each warning once per run, however many profiles or jobs bring it up."""
        if message in self._warned:
            return
        self._warned.add(message)
        self.stderr.write(f"jobwatch: warning: {self.redact(message)}\n")
        self.stderr.flush()

    def log(self, line: str) -> None:
        """One --verbose line; silent otherwise. Callers pass text already redacted."""
        if self.verbose:
            self.stderr.write(f"jobwatch: {self.redact(line)}\n")
            self.stderr.flush()

    @property
    def request_log(self) -> Log | None:
        return self.log if self.verbose else None

    def config_file_path(self) -> Path:
        """Where the config is, or would be, without reading it."""
        from jobwatch.config import choose_path

        return choose_path(self.config_path, self.env)[0]

    def config(self) -> ConfigFile:
        if self._config is None:
            from jobwatch.config import load_file

            self._config = load_file(self.config_path, self.env)
        return self._config

    def defaults(self) -> Defaults:
        from jobwatch.config import load_defaults

        return load_defaults(self.config())

    def adapter(self, provider: str, profile_name: str | None = None) -> Adapter:
        """The provider's adapter with its profile (the run's, unless named) resolved and its
        token read."""
        from jobwatch.adapters import ADAPTERS
        from jobwatch.config import check_header_values, resolve_profile, resolve_token

        cls = ADAPTERS[provider]
        name = profile_name or self.profile
        if self._simulated(provider, name):
            from jobwatch.demo import link

            profile = link.profile(self.simulator(), provider, self.config())
            token = resolve_token(profile, {})
        else:
            profile = resolve_profile(self.config(), provider, name, self.env,
                                      default_base_url=cls.default_base_url, warn=self.warn)
            token = resolve_token(profile, self.env)
        self.redact.add(token.value)  # at once: nothing that fails below may print it
        check_header_values(profile)
        adapter = cls(profile, token.value, token.source, self.redact)
        for secret in adapter.secrets():
            self.redact.add(secret)
        return adapter

    def _simulated(self, provider: str, profile_name: str) -> bool:
        """Whether the demo profile is asked for, and the config has no profile of that name
        for this provider (which would win): then `jobwatch demo --serve` serves it."""
        from jobwatch.config import profile_names

        return profile_name == DEMO_PROFILE and DEMO_PROFILE not in profile_names(
            self.config(), provider)

    def simulator(self) -> DemoState:
        """The running `jobwatch demo --serve`, found and proved ours once per run."""
        if self._simulator is None:
            from jobwatch.demo import link

            self._simulator = link.connect(self.env, self.request_log)
        return self._simulator

    def client(self, adapter: Adapter, pool_size: int = 10) -> httpx.Client:
        from jobwatch.http import make_client

        # HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured, except for a provider on this very
        # machine (the demo, a tunnel, tests), as Go's net/http does for localhost.
        return make_client(verify=self._verify(adapter), pool_size=pool_size,
                           redact=self.redact, proxies_from_env=not _loopback(adapter.origin[1]))

    def _verify(self, adapter: Adapter) -> bool | ssl.SSLContext:
        """The system's CAs (read lazily), none (false), or a CA bundle: a file, or a directory
        of hashed certificates."""
        profile = adapter.profile
        verify = profile.get("verify", True)
        lowered = verify.strip().lower() if isinstance(verify, str) else ""
        if verify is False or lowered in ("false", "0", "no"):
            return False
        if verify is True or lowered in ("true", "1", "yes"):
            from jobwatch.trust import LazyTrust

            return LazyTrust(self.env)
        where = f"verify = {verify!r} ({profile.source('verify')})"
        if not lowered:
            raise ConfigError(f"{where} is empty", hint="give true, false or a CA file path")
        from jobwatch.trust import ca_bundle_context

        return ca_bundle_context(Path(verify).expanduser(), where)


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")
