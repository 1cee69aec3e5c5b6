"""Config: TOML file + JOBWATCH_<PROVIDER>_<FIELD> environment overrides → a resolved Profile.
(Just over 500 lines: file, environment, tokens and header checks resolve one Profile; the
schema itself is config_schema.py.)

Every resolved value remembers where it came from ("env JOBWATCH_CLARET_TOKEN",
"/home/me/.config/jobwatch/config.toml:7", "default"), so errors and `config show` can say so.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from jobwatch.errors import ConfigError
from jobwatch.providers import PROVIDERS as PROVIDERS  # callers import it from here
from jobwatch.registry import REGISTRY
from jobwatch.text import header_safe, printable

# The fields every profile may have, and the ones only some providers have (the registry's);
# the schema (config_schema.py), the environment overrides and `config show` all read them.
COMMON_FIELDS = ("base_url", "token", "token_env", "token_command", "interval", "timeout",
                 "verify", "headers")
PROVIDER_FIELDS: dict[str, tuple[str, ...]] = {name: p.fields for name, p in REGISTRY.items()}
PROFILE_FIELDS = COMMON_FIELDS + tuple(f for own in PROVIDER_FIELDS.values() for f in own)
DEFAULTS_FIELDS = ("timeout", "interval", "download_dir", "not_found_grace", "on_end")
DURATION_FIELDS = ("interval", "timeout", "not_found_grace")
TOKEN_FIELDS = ("token", "token_env", "token_command")
TOKEN_COMMAND_TIMEOUT = 10.0
# A token is a few hundred bytes; a CA bundle a few hundred KiB (certifi's: 300 KiB).
TOKEN_OUTPUT_LIMIT = 64 * 1024
CONFIG_FILE_LIMIT = 1024 * 1024


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


# What a value in the file or the environment may be: TOML's strings, booleans and numbers,
# and the headers table.
FieldValue = str | bool | int | float | dict[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class Value(Generic[T]):
    value: T
    source: str


@dataclass
class ConfigFile:
    path: Path
    explicit: bool  # as choose_path said; nothing decides by it once the file is read
    exists: bool
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    # fstat of the file that was read (not of whatever the path names later), for on_end.
    stat: os.stat_result | None = None

    def line_of(self, section: str, key: str | None = None) -> str:
        """'path:line' of a section header or of a key inside it, for messages and sources;
        the bare path when neither can be found."""
        number = self.line_number(section, key)
        return str(self.path) if number is None else f"{self.path}:{number}"

    def line_number(self, section: str, key: str | None = None) -> int | None:
        lines = self.text.splitlines()
        # "[claret.default]" for a section; "[claret" followed by "." or "]" for a provider.
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, section.split(".")))
                            + (r"\s*\]" if "." in section else r"\s*[.\]]"))
        for number, line in enumerate(lines, 1):
            if header.match(line):
                if key is None:
                    return number
                # `key = ...`, `"key" = ...`, or a dotted `key.sub = ...`
                own = re.compile(r"^\s*([\"']?)" + re.escape(key) + r"\1\s*[=.]")
                for offset, inner in enumerate(lines[number:], number + 1):
                    if inner.lstrip().startswith("["):
                        break
                    if own.match(inner):
                        return offset
                # A table of its own ([claret.default.headers]), else the section itself.
                table = self.line_number(f"{section}.{key}")
                return number if table is None else table
        return None


@dataclass
class Profile:
    provider: str
    name: str
    values: dict[str, Value[FieldValue]]
    config: ConfigFile

    def get(self, name: str, default: Any = None) -> Any:
        found = self.values.get(name)
        return default if found is None else found.value

    def source(self, name: str) -> str:
        found = self.values.get(name)
        return found.source if found else "unset"

    def duration(self, name: str) -> Value[float] | None:
        """interval or timeout in seconds, with its source; checked when it was read."""
        return _duration_of(self.values.get(name))

    @property
    def section(self) -> str:
        return section_header(self.provider, self.name)

    def fix_hint(self, name: str, example: str) -> str:
        env = env_variable(self.provider, name)
        return f"set {env}, or add {name} = {example} to {self.section} in {self.config.path}"


@dataclass
class Defaults:
    values: dict[str, Value[FieldValue]]
    config: ConfigFile | None = None  # None: defaults made up in code, not read from a file

    def get(self, name: str, default: Any = None) -> Any:
        found = self.values.get(name)
        return default if found is None else found.value

    def duration(self, name: str) -> Value[float] | None:
        """timeout, interval or not_found_grace in seconds, with its source."""
        return _duration_of(self.values.get(name))

    def on_end(self) -> Value[str] | None:
        """The on_end command, or None when unset. Refused (ConfigError) when the file it came
        from could be changed by someone else: it runs code, as the user running jobwatch."""
        found = self.values.get("on_end")
        if found is None:
            return None
        refusal = None if self.config is None else others_can_write(self.config)
        if refusal is not None:
            reason, hint = refusal
            raise ConfigError(f"on_end ({found.source}) is refused: {reason}", hint=hint)
        return Value(str(found.value), found.source)


def _duration_of(found: Value[FieldValue] | None) -> Value[float] | None:
    from jobwatch.durations import parse_duration

    if found is None or isinstance(found.value, dict):
        return None
    # Checked when the file was loaded or the variable resolved: this cannot fail any more.
    return Value(parse_duration(found.value), found.source)


def others_can_write(config: ConfigFile) -> tuple[str, str] | None:
    """(why, what to do) when someone other than the user running jobwatch could change what
    the file says: it is not theirs, it is group- or world-writable, or a directory above it
    is (and not sticky, as /tmp is: there only an entry's owner may replace it)."""
    info = config.stat
    uid = os.geteuid()
    path = config.path
    if info is None:  # not read from a file: nothing to trust or distrust
        return None
    if info.st_uid != uid:
        return (f"{path} belongs to another user (uid {info.st_uid})",
                "use a config file of your own, or give the command with wait --on-end")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (f"{path} is writable by others (mode {stat.S_IMODE(info.st_mode):04o})",
                f"run: chmod go-w {path}")
    for directory in _directories_above(path):
        try:
            above = os.stat(directory)
        except OSError as exc:
            return f"cannot check {directory}: {exc.strerror}", "check that directory"
        if above.st_uid not in (uid, 0):
            return (f"its directory {directory} belongs to another user (uid {above.st_uid})",
                    "keep the config in a directory of your own")
        if above.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not above.st_mode & stat.S_ISVTX:
            return (f"its directory {directory} is writable by others "
                    f"(mode {stat.S_IMODE(above.st_mode):04o})", f"run: chmod go-w {directory}")
    return None


def _directories_above(path: Path) -> list[Path]:
    """Every directory whose owner could replace the file: those above the path as named (a
    symlink can be swapped) and above the file it leads to."""
    found: list[Path] = []
    for start in (Path(os.path.abspath(path)), Path(os.path.realpath(path))):
        for directory in start.parents:
            if directory not in found:
                found.append(directory)
    return found


def load_file(path: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ
              ) -> ConfigFile:
    """Read and check the TOML file; a missing default file is fine, a missing explicit one
    is not."""
    from jobwatch.bounded import read_user_file

    chosen, explicit = choose_path(path, env)
    try:
        read = read_user_file(chosen, CONFIG_FILE_LIMIT)
        text = (read.data or b"").decode("utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file not found: {chosen}",
                              hint="check --config / JOBWATCH_CONFIG, or create one with "
                                   "'jobwatch config init'") from None
        return ConfigFile(chosen, explicit, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "not valid UTF-8"
        raise ConfigError(f"cannot read config file {chosen}: {reason}",
                          hint="--config / JOBWATCH_CONFIG names a TOML file") from None
    config = ConfigFile(chosen, explicit, exists=True, data=_parse_toml(chosen, text),
                        text=text, stat=read.stat)
    if config.data:  # an empty file needs no schema, and the schema costs pydantic's import
        from jobwatch.config_schema import check_schema

        check_schema(config)
    return config


def _parse_toml(path: Path, text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if match:
            where = f"{path}:{match.group(1)}:{match.group(2)}"
        else:  # "(at end of document)": point at the last character
            last = text.rsplit("\n", 1)[-1]
            where = f"{path}:{text.count(chr(10)) + 1}:{len(last) + 1}"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)|\s*\(at end of document\)", "", str(exc))
        raise ConfigError(f"{where}: invalid TOML: {reason}",
                          hint="fix that line, then check the file with 'jobwatch config "
                               "check'") from None


def fields_of(provider: str) -> tuple[str, ...]:
    """The fields a profile of ``provider`` may set."""
    return COMMON_FIELDS + PROVIDER_FIELDS[provider]


def env_variable(provider: str, name: str) -> str:
    return f"JOBWATCH_{provider.upper()}_{name.upper()}"


def set_by_env(provider: str, env: Mapping[str, str]) -> bool:
    """Whether the environment sets any field of ``provider`` (then its default profile exists
    without a file)."""
    return any(env_variable(provider, name) in env for name in fields_of(provider))


def load_defaults(config: ConfigFile) -> Defaults:
    section = config.data.get("defaults", {})
    return Defaults({k: Value(v, config.line_of("defaults", k)) for k, v in section.items()},
                    config)


def section_header(provider: str, name: str) -> str:
    """`[claret.staging]`, or `[claret."my team"]` for a name TOML would not take bare."""
    key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)
    return f"[{provider}.{key}]"


def profile_names(config: ConfigFile, provider: str) -> list[str]:
    return list(config.data.get(provider, {}))


def resolve_profile(config: ConfigFile, provider: str, name: str,
                    env: Mapping[str, str] = os.environ, *,
                    default_base_url: str | None = None,
                    warn: Callable[[str], None] | None = None) -> Profile:
    """Merge the file's [provider.name] with JOBWATCH_<PROVIDER>_<FIELD>; env wins per field."""
    sections = config.data.get(provider, {})
    if name not in sections and name != "default":
        from difflib import get_close_matches

        from jobwatch.runtime import DEMO_PROFILE

        known = ", ".join(sections) or "none"
        # -p demo, the simulator's profile, is there without a section: it is suggested too.
        close = get_close_matches(name, [*sections, DEMO_PROFILE], n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            f"unknown profile '{name}' for {provider} (profiles in {config.path}: {known}; "
            f"built in: {DEMO_PROFILE})",
            hint=f"{guess}add a [{provider}.{name}] section, or choose another profile "
                 f"(--profile, or {provider}@PROFILE:JOB_ID)",
        )
    values: dict[str, Value[FieldValue]] = {}
    if default_base_url:
        values["base_url"] = Value(default_base_url, "default")
    section = f"{provider}.{name}"
    file_fields = sections.get(name, {})
    for key, value in file_fields.items():
        values[key] = Value(value, config.line_of(section, key))
    from_env = _env_values(provider, env)
    if any(key in from_env for key in TOKEN_FIELDS):  # the environment's token wins over the file's
        for key in TOKEN_FIELDS:
            values.pop(key, None)
    values.update(from_env)
    if "token" in file_fields:
        _warn_if_readable(config, warn)
    if warn is not None:
        _warn_of_other_providers_fields(provider, env, warn)
    return Profile(provider, name, values, config)


def _env_values(provider: str, env: Mapping[str, str]) -> dict[str, Value[FieldValue]]:
    """The fields the environment sets, with one token source at most (the first of
    TOKEN_FIELDS). A duration is checked here, as the file's are when it is loaded."""
    found: dict[str, Value[FieldValue]] = {}
    for key in fields_of(provider):
        var = env_variable(provider, key)
        # An empty variable (a CI template left blank) is unset, as for JOBWATCH_PROFILE; an
        # empty token is kept, to be refused by name.
        if var not in env or key == "headers" or (env[var] == "" and key != "token"):
            continue
        if key in TOKEN_FIELDS and any(other in found for other in TOKEN_FIELDS):
            continue
        if key in DURATION_FIELDS:
            check_duration(env[var], f"env {var}")
        found[key] = Value(env[var], f"env {var}")
    return found


def check_duration(value: str | int | float, where: str) -> None:
    """A configured duration, or exit 6 saying where it was set."""
    problem = duration_problem(value)
    if problem is not None:
        raise ConfigError(f"{where}: {problem}")


def duration_problem(value: str | int | float) -> str | None:
    """Why ``value`` is not a duration ("not a duration: '5x' (use forms like ...)"), or None."""
    import math

    from jobwatch.durations import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        return str(exc)
    if not math.isfinite(seconds):  # TOML's inf and nan, or 400 digits
        return f"not a duration: {value!r} (use forms like 90, 90s, 5m, 1h30m, 0.5)"
    return None


def _warn_of_other_providers_fields(provider: str, env: Mapping[str, str],
                                    warn: Callable[[str], None]) -> None:
    # JOBWATCH_JULEP_TENANT reads like a setting; say it is not one rather than ignore it.
    for name in set(PROFILE_FIELDS) - set(fields_of(provider)):
        var = env_variable(provider, name)
        if env.get(var):
            owners = [p for p, own in PROVIDER_FIELDS.items() if name in own]
            warn(f"{var} is ignored: {name} is a field of {' and '.join(owners)} profiles only")


def _warn_if_readable(config: ConfigFile, warn: Callable[[str], None] | None) -> None:
    if config.stat is None:
        return
    if config.stat.st_mode & (stat.S_IRGRP | stat.S_IROTH) and warn is not None:
        warn(f"{config.path} holds a literal token and is readable by others; "
             f"run: chmod 600 {config.path}")


def resolve_token(profile: Profile, env: Mapping[str, str] = os.environ) -> Value[str]:
    """The token and a description of where it came from; exit 6 if it is missing or unusable."""
    if "token" in profile.values:
        found = profile.values["token"]
        token, source = str(found.value), found.source
    elif "token_env" in profile.values:
        found = profile.values["token_env"]
        var = str(found.value)
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


def _run_token_command(found: Value[FieldValue]) -> str:
    # Run without a shell: the command is split like a shell would, but no expansion happens.
    import shlex

    from jobwatch.bounded import DidNotFinish, TooMuchOutput, describe_size, run_bounded

    try:
        argv = shlex.split(str(found.value))
    except ValueError as exc:
        raise ConfigError(f"token_command ({found.source}) cannot be parsed: {exc}") from None
    if not argv:
        raise ConfigError(f"token_command ({found.source}) is empty")
    what = f"token_command '{argv[0]}' ({found.source})"
    try:
        done = run_bounded(argv, timeout=TOKEN_COMMAND_TIMEOUT, limit=TOKEN_OUTPUT_LIMIT)
    except FileNotFoundError:
        raise ConfigError(f"token_command '{argv[0]}' ({found.source}) was not found",
                          hint="token_command runs without a shell; give the program's path"
                          ) from None
    except DidNotFinish:
        raise ConfigError(f"{what} did not finish within {TOKEN_COMMAND_TIMEOUT:g} s",
                          hint="run it by hand to see what it waits for") from None
    except TooMuchOutput as exc:
        # Nothing of it is shown: it may be the token, or the token and more.
        raise ConfigError(f"{what} printed more than {describe_size(TOKEN_OUTPUT_LIMIT)} on "
                          f"{exc.stream}; a token is never that long",
                          hint="run it by hand to see what it prints") from None
    except OSError as exc:
        raise ConfigError(f"{what} cannot run: {exc.strerror}") from None
    if done.returncode != 0:
        said = _first_line(done.stderr, hide=done.stdout)
        raise ConfigError(f"{what} failed with exit code {done.returncode}"
                          + (f": {said}" if said else ""))
    try:
        output = done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} printed non-UTF-8 bytes") from None
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
