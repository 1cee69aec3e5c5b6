"""The config file's schema as pydantic models, and their errors said as a person fixing the
file needs them: where (path:line), which field, the form it must take.

The models only judge the file; the values jobwatch uses stay the file's own (with their
line), so that `config show` shows "30m" as written and every value can say where it came
from. Imported only when a config file holds something: a run configured by the environment
alone never pays for pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from jobwatch.config import (
    DEFAULTS_FIELDS,
    PROVIDER_FIELDS,
    TOKEN_FIELDS,
    ConfigFile,
    duration_problem,
    fields_of,
)
from jobwatch.errors import ConfigError

# What a field must be, for "timeout must be a duration like "30m"". Anything else: a string.
EXPECTED = {
    "verify": "true, false or a CA bundle path",
    "headers": "a table of strings",
    "interval": 'a duration like "5s"',
    "timeout": 'a duration like "30m"',
    "not_found_grace": 'a duration like "2m"',
    "on_end": 'a shell command, like "notify-send done"',
}


def _duration(value: int | float | str) -> int | float | str:
    """Checked as a duration, kept as written: `config show` shows "30m", not 1800.0."""
    problem = duration_problem(value)
    if problem is not None:  # said after the path and line, as wait has always said it
        raise PydanticCustomError("duration", "{reason}", {"reason": problem})
    return value


def _command(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_command", "is empty")
    return value


# strict: TOML's own types are what the user wrote; `verify = 1` and `tenant = 5` are mistakes
# to point at, not values to convert.
Duration = Annotated[int | float | str, AfterValidator(_duration)]
Command = Annotated[str, AfterValidator(_command)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DefaultsTable(_Table):
    """[defaults]: what applies to every profile unless a flag or the profile says otherwise."""

    timeout: Duration | None = None
    interval: Duration | None = None
    download_dir: str | None = None
    not_found_grace: Duration | None = None
    on_end: Command | None = None


class ProfileTable(_Table):
    """[<provider>.<profile>]: the fields every provider's profiles have."""

    base_url: str | None = None
    token: str | None = None
    token_env: str | None = None
    token_command: str | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    verify: bool | str | None = None
    headers: dict[str, str] | None = None

    @model_validator(mode="after")
    def _one_token_source(self) -> ProfileTable:
        given = [name for name in TOKEN_FIELDS if getattr(self, name) is not None]
        if len(given) > 1:
            raise PydanticCustomError("token_sources", "sets both {first} and {second}",
                                      {"first": given[0], "second": given[1]})
        return self


def _profile_table(provider: str) -> type[ProfileTable]:
    """ProfileTable plus the provider's own fields (config.PROVIDER_FIELDS), all strings."""
    own = PROVIDER_FIELDS[provider]
    if not own:
        return ProfileTable
    fields: dict[str, Any] = {name: (str | None, None) for name in own}
    return create_model(f"{provider.title()}ProfileTable", __base__=ProfileTable, **fields)


def _file_model() -> type[BaseModel]:
    sections: dict[str, Any] = {
        provider: (dict[str, _profile_table(provider)], {})  # type: ignore[misc]
        for provider in PROVIDER_FIELDS}
    return create_model("ConfigFileTable", __base__=_Table,
                        defaults=(DefaultsTable | None, None), **sections)


ConfigFileTable = _file_model()
SECTIONS = ("defaults", *PROVIDER_FIELDS)


def check_schema(config: ConfigFile) -> None:
    """Exit 6 on the first mistake in the file, in the file's order, the way it has always been
    worded."""
    try:
        ConfigFileTable.model_validate(config.data)
    except ValidationError as exc:
        said = [_explain(config, error) for error in exc.errors(include_url=False)]
        raise min(said, key=lambda found: found[0])[1] from None


def _explain(config: ConfigFile, error: ErrorDetails) -> tuple[int, ConfigError]:
    """(line, error) for one of pydantic's errors; line 0 when it has none, to come first."""
    loc = [str(part) for part in error["loc"]]
    top = loc[0]
    if top not in SECTIONS:
        return _at(config, top), _unknown(top, SECTIONS, config.line_of(top), "section")
    if top == "defaults":
        if len(loc) == 1:
            return 0, ConfigError(f"{config.path}: 'defaults' must be a table ([defaults])")
        return _field_error(config, error, "defaults", loc, DEFAULTS_FIELDS, provider=None)
    section = f"{top}.{loc[1]}" if len(loc) > 1 else top
    if len(loc) == 2 and error["type"] == "token_sources":  # the profile as a whole
        ctx = error.get("ctx", {})
        return _at(config, section), ConfigError(
            f"{config.line_of(section)}: [{section}] sets both {ctx['first']} and "
            f"{ctx['second']}", hint="keep one of token, token_env, token_command")
    if len(loc) <= 2:  # `[claret]` with fields in it, or `claret = 5`
        return _at(config, top), ConfigError(
            f"{config.line_of(top)}: profiles are tables named [{top}.<profile>]",
            hint=f"for example [{top}.default]")
    return _field_error(config, error, section, loc, fields_of(top), provider=top)


def _field_error(config: ConfigFile, error: ErrorDetails, section: str, loc: list[str],
                 valid: tuple[str, ...], provider: str | None) -> tuple[int, ConfigError]:
    key = loc[1] if provider is None else loc[2]
    where, line = _place(config, section, key, loc)
    if error["type"] == "extra_forbidden":
        return line, _unknown(key, valid, where, "field", provider)
    if error["type"] == "duration":
        return line, ConfigError(f"{where}: {error.get('ctx', {})['reason']}")
    return line, ConfigError(f"{where}: {key} must be {EXPECTED.get(key, 'a string')}")


def _place(config: ConfigFile, section: str, key: str, loc: list[str]) -> tuple[str, int]:
    """Where a field's error is: its line, or for a header in a [<provider>.<profile>.headers]
    table, that header's own line."""
    if key == "headers" and len(loc) > 3:
        table = f"{section}.headers"
        if config.line_number(table) is not None:
            return config.line_of(table, loc[3]), _at(config, table, loc[3])
    return config.line_of(section, key), _at(config, section, key)


def _at(config: ConfigFile, section: str, key: str | None = None) -> int:
    return config.line_number(section, key) or 0


def _unknown(name: str, valid: tuple[str, ...], where: str, what: str,
             provider: str | None = None) -> ConfigError:
    owners = [p for p, own in PROVIDER_FIELDS.items() if name in own]
    if provider is not None and owners:  # `tenant` in [julep.default]
        return ConfigError(f"{where}: unknown field '{name}' for {provider}",
                           hint=f"{name} is a field of {' and '.join(owners)} profiles only; "
                                f"valid {what}s: {', '.join(valid)}")
    from difflib import get_close_matches

    close = get_close_matches(name, valid, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return ConfigError(f"{where}: unknown {what} '{name}'",
                       hint=f"{hint}valid {what}s: {', '.join(valid)}")
