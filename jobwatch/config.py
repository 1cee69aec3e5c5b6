"""Config: TOML file + JOBWATCH_<PROVIDER>_<FIELD> environment overrides → a resolved Profile.

Every resolved value remembers where it came from ("env JOBWATCH_CLARET_TOKEN",
"/home/me/.config/jobwatch/config.toml:7", "default"), so errors and `config show` can say so.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobwatch.errors import ConfigError
from jobwatch.providers import PROVIDERS
from jobwatch.text import header_safe, printable

PROFILE_FIELDS = ("base_url", "token", "token_env", "token_command", "tenant", "organization_id",
                  "interval", "timeout", "verify", "headers")
DEFAULTS_FIELDS = ("timeout", "interval", "download_dir")
TOKEN_FIELDS = ("token", "token_env", "token_command")
TOKEN_COMMAND_TIMEOUT = 10.0


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("jobwatch") / "config.toml"


def choose_path(path: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ
                ) -> tuple[Path, bool]:
    """Where the config is, or would be: --config, else JOBWATCH_CONFIG (empty is unset), else
    the platform's place; and whether it was named explicitly (then it must exist). `config
    path`, `config init` and loading all ask here."""
    chosen = path or env.get("JOBWATCH_CONFIG")
    if chosen:
        return Path(chosen).expanduser(), True
    return default_config_path(), False


@dataclass(frozen=True)
class Value:
    value: Any
    source: str


@dataclass
class ConfigFile:
    path: Path
    explicit: bool  # as choose_path said; nothing decides by it once the file is read
    exists: bool
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def line_of(self, section: str, key: str | None = None) -> str:
        """'path:line' of a section header or of a key inside it, for messages and sources."""
        lines = self.text.splitlines()
        # "[claret.default]" for a section; "[claret" followed by "." or "]" for a provider.
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, section.split(".")))
                            + (r"\s*\]" if "." in section else r"\s*[.\]]"))
        for number, line in enumerate(lines, 1):
            if header.match(line):
                if key is None:
                    return f"{self.path}:{number}"
                # `key = ...`, `"key" = ...`, or a dotted `key.sub = ...`
                own = re.compile(r"^\s*([\"']?)" + re.escape(key) + r"\1\s*[=.]")
                for offset, inner in enumerate(lines[number:], number + 1):
                    if inner.lstrip().startswith("["):
                        break
                    if own.match(inner):
                        return f"{self.path}:{offset}"
                # A table of its own ([claret.default.headers]), else the section itself.
                table = self.line_of(f"{section}.{key}")
                return table if table != str(self.path) else f"{self.path}:{number}"
        return str(self.path)


@dataclass
class Profile:
    provider: str
    name: str
    values: dict[str, Value]
    config: ConfigFile

    def get(self, name: str, default: Any = None) -> Any:
        found = self.values.get(name)
        return default if found is None else found.value

    def source(self, name: str) -> str:
        found = self.values.get(name)
        return found.source if found else "unset"

    @property
    def section(self) -> str:
        return f"[{self.provider}.{self.name}]"

    def fix_hint(self, name: str, example: str) -> str:
        env = f"JOBWATCH_{self.provider.upper()}_{name.upper()}"
        return f"set {env}, or add {name} = {example} to {self.section} in {self.config.path}"


@dataclass
class Defaults:
    values: dict[str, Value]

    def get(self, name: str, default: Any = None) -> Any:
        found = self.values.get(name)
        return default if found is None else found.value


def load_file(path: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ
              ) -> ConfigFile:
    """Read and check the TOML file; a missing default file is fine, a missing explicit one
    is not."""
    chosen, explicit = choose_path(path, env)
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file not found: {chosen}",
                              hint="check --config / JOBWATCH_CONFIG, or create one with "
                                   "'jobwatch config init'") from None
        return ConfigFile(chosen, explicit, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise ConfigError(f"cannot read config file {chosen}: {reason}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if match:
            where = f"{chosen}:{match.group(1)}:{match.group(2)}"
        else:  # "(at end of document)": point at the last character
            last = text.rsplit("\n", 1)[-1]
            where = f"{chosen}:{text.count(chr(10)) + 1}:{len(last) + 1}"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)|\s*\(at end of document\)", "", str(exc))
        raise ConfigError(f"{where}: invalid TOML: {reason}",
                          hint="fix that line; 'jobwatch config init --force' writes a fresh "
                               "starter file") from None
    config = ConfigFile(chosen, explicit, exists=True, data=data, text=text)
    _check_shape(config)
    return config


def _check_shape(config: ConfigFile) -> None:
    from difflib import get_close_matches

    def unknown(name: str, valid: tuple[str, ...], where: str, what: str) -> ConfigError:
        close = get_close_matches(name, valid, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return ConfigError(f"{where}: unknown {what} '{name}'",
                           hint=f"{hint}valid {what}s: {', '.join(valid)}")

    for top, body in config.data.items():
        if top == "defaults":
            if not isinstance(body, dict):
                raise ConfigError(f"{config.path}: 'defaults' must be a table ([defaults])")
            for key in body:
                if key not in DEFAULTS_FIELDS:
                    raise unknown(key, DEFAULTS_FIELDS, config.line_of("defaults", key), "field")
            continue
        if top not in PROVIDERS:
            raise unknown(top, ("defaults", *PROVIDERS), config.line_of(top), "section")
        if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
            raise ConfigError(
                f"{config.line_of(top)}: profiles are tables named [{top}.<profile>]",
                hint=f"for example [{top}.default]",
            )
        for profile_name, fields in body.items():
            section = f"{top}.{profile_name}"
            for key, value in fields.items():
                if key not in PROFILE_FIELDS:
                    raise unknown(key, PROFILE_FIELDS, config.line_of(section, key), "field")
                _check_type(key, value, config.line_of(section, key))
            given = [k for k in TOKEN_FIELDS if k in fields]
            if len(given) > 1:
                raise ConfigError(f"{config.line_of(section)}: [{section}] sets both "
                                  f"{given[0]} and {given[1]}",
                                  hint="keep one of token, token_env, token_command")


def _check_type(key: str, value: Any, where: str) -> None:
    ok = {
        "verify": isinstance(value, (bool, str)),
        "headers": isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()),
        "interval": isinstance(value, (int, float, str)) and not isinstance(value, bool),
        "timeout": isinstance(value, (int, float, str)) and not isinstance(value, bool),
    }.get(key, isinstance(value, str))
    if not ok:
        expected = {"verify": "true, false or a CA bundle path",
                    "headers": "a table of strings", "interval": "a duration like \"5s\"",
                    "timeout": "a duration like \"30m\""}.get(key, "a string")
        raise ConfigError(f"{where}: {key} must be {expected}")


def load_defaults(config: ConfigFile) -> Defaults:
    section = config.data.get("defaults", {})
    return Defaults({k: Value(v, config.line_of("defaults", k)) for k, v in section.items()})


def profile_names(config: ConfigFile, provider: str) -> list[str]:
    return list(config.data.get(provider, {}))


def resolve_profile(config: ConfigFile, provider: str, name: str,
                    env: Mapping[str, str] = os.environ, *,
                    default_base_url: str | None = None,
                    warn: Any = None) -> Profile:
    """Merge the file's [provider.name] with JOBWATCH_<PROVIDER>_<FIELD>; env wins per field."""
    sections = config.data.get(provider, {})
    if name not in sections and name != "default":
        known = ", ".join(sections) or "none"
        raise ConfigError(
            f"unknown profile '{name}' for {provider} (profiles in {config.path}: {known})",
            hint=f"add a [{provider}.{name}] section, or choose another with --profile",
        )
    values: dict[str, Value] = {}
    if default_base_url:
        values["base_url"] = Value(default_base_url, "default")
    section = f"{provider}.{name}"
    file_fields = sections.get(name, {})
    for key, value in file_fields.items():
        values[key] = Value(value, config.line_of(section, key))
    env_token_given = False
    for key in PROFILE_FIELDS:
        var = f"JOBWATCH_{provider.upper()}_{key.upper()}"
        # An empty variable (a CI template left blank) is unset, as for JOBWATCH_PROFILE; an
        # empty token is kept, to be refused by name.
        if var in env and key != "headers" and (env[var] != "" or key == "token"):
            if key in TOKEN_FIELDS and not env_token_given:
                for other in TOKEN_FIELDS:  # the environment's token wins over the file's
                    values.pop(other, None)
                env_token_given = True
            elif key in TOKEN_FIELDS:
                continue
            values[key] = Value(env[var], f"env {var}")
    if "token" in file_fields:
        _warn_if_readable(config, warn)
    return Profile(provider, name, values, config)


def _warn_if_readable(config: ConfigFile, warn: Any) -> None:
    try:
        mode = config.path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH) and warn is not None:
        warn(f"{config.path} holds a literal token and is readable by others; "
             f"run: chmod 600 {config.path}")


def resolve_token(profile: Profile, env: Mapping[str, str] = os.environ) -> Value:
    """The token and a description of where it came from; exit 6 if it is missing or unusable."""
    if "token" in profile.values:
        found = profile.values["token"]
        token, source = found.value, found.source
    elif "token_env" in profile.values:
        found = profile.values["token_env"]
        var = found.value
        if var not in env:
            raise ConfigError(f"environment variable {var} (named by token_env, {found.source}) "
                              "is not set", hint=f"export {var}=<your token>")
        token, source = env[var], f"env {var}"
    elif "token_command" in profile.values:
        found = profile.values["token_command"]
        token = _run_token_command(found)
        source = f"token_command ({found.source})"
    else:
        raise ConfigError(
            f"no token for {profile.provider} profile '{profile.name}'",
            hint=f"set JOBWATCH_{profile.provider.upper()}_TOKEN, or add token_env = "
                 f"\"MY_TOKEN_VAR\" to {profile.section} in {profile.config.path}",
        )
    if not token:
        raise ConfigError(f"the token from {source} is empty", hint=_empty_token_hint(profile))
    if not header_safe(token):
        raise ConfigError(f"the token from {source} contains a newline, a control or "
                          "non-ASCII character, or surrounding spaces",
                          hint="remove the stray characters; the token was not sent")
    return Value(token, source)


# RFC 9110's token: what a header name may be.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers that describe the message or the connection, or that jobwatch sets itself.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection",
                               "keep-alive", "te", "trailer", "upgrade", "authorization"})


def _empty_token_hint(profile: Profile) -> str:
    if "token_env" in profile.values:
        return f"export {profile.get('token_env')}=<your token>"
    if "token_command" in profile.values:
        return "the command printed nothing on stdout; run it by hand to see why"
    if profile.source("token").startswith("env "):
        return f"set {profile.source('token')[4:]} to your token, or unset it"
    return f"put the token between the quotes, or use token_env or token_command instead " \
           f"({profile.source('token')})"


def _header_source(profile: Profile, name: str) -> str:
    """Where header ``name`` was set: its own line in a [provider.profile.headers] table, else
    the line of the profile's headers."""
    where = profile.source("headers")
    if where.startswith(f"{profile.config.path}:"):
        table = f"{profile.provider}.{profile.name}.headers"
        if profile.config.line_of(table) != str(profile.config.path):
            return profile.config.line_of(table, name)
    return where


def check_header_values(profile: Profile) -> None:
    """Values that travel in headers: printable ASCII only, or exit 6 before any request."""
    for name in profile.get("headers") or {}:
        where = _header_source(profile, name)
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigError(f"headers ({where}): {name!r} is not a valid header name",
                              hint="header names are letters, digits and -")
        if name.lower() in _RESERVED_HEADERS:
            hint = ("set the token with token, token_env or token_command"
                    if name.lower() == "authorization" else "jobwatch sets it itself")
            raise ConfigError(f"headers ({where}): {name} cannot be set here", hint=hint)
    values = {"organization_id": profile.get("organization_id")}
    values.update({f"headers.{k}": v for k, v in (profile.get("headers") or {}).items()})
    for name, value in values.items():
        if value is not None and not header_safe(value):
            source = (_header_source(profile, name[len("headers."):])
                      if name.startswith("headers.") else profile.source(name))
            raise ConfigError(f"{name} ({source}) contains a control or non-ASCII character, "
                              "or surrounding spaces", hint="header values must be printable ASCII")


def _run_token_command(found: Value) -> str:
    # Run without a shell: the command is split like a shell would, but no expansion happens.
    import shlex
    import subprocess

    try:
        argv = shlex.split(found.value)
    except ValueError as exc:
        raise ConfigError(f"token_command ({found.source}) cannot be parsed: {exc}") from None
    name = argv[0] if argv else ""
    if not argv:
        raise ConfigError(f"token_command ({found.source}) is empty")
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TOKEN_COMMAND_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise ConfigError(f"token_command '{name}' ({found.source}) was not found",
                          hint="token_command runs without a shell; give the program's path"
                          ) from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"token_command '{name}' ({found.source}) did not finish within "
                          f"{TOKEN_COMMAND_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise ConfigError(f"token_command '{name}' ({found.source}) cannot run: "
                          f"{exc.strerror}") from None
    if done.returncode != 0:
        said = _first_line(done.stderr, hide=done.stdout)
        raise ConfigError(f"token_command '{name}' ({found.source}) failed with exit code "
                          f"{done.returncode}" + (f": {said}" if said else ""))
    try:
        output = done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"token_command '{name}' ({found.source}) printed non-UTF-8 bytes"
                          ) from None
    # `pass show` and friends end the token with a newline; only that one is forgiven.
    return output[:-2] if output.endswith("\r\n") else output.removesuffix("\n")


def _first_line(stderr: bytes, *, hide: bytes) -> str:
    """The first line a failing command wrote on stderr (`pass`: "gpg: decryption failed"),
    cut and printable, with whatever it wrote on stdout (which may be a token) and anything
    token-shaped hidden."""
    from jobwatch.redact import Redactor

    line = next((ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines()
                 if ln.strip()), "")
    printed = [ln.strip() for ln in hide.decode("utf-8", "replace").splitlines()]
    return printable(Redactor(printed)(line))[:200]
