"""Job references: what `status`, `wait` and `download` are told to look at.

Two forms (SPEC.md, "Job references"): `PROVIDER JOB_ID...` (one provider, several ids) and
any number of `PROVIDER[@PROFILE]:JOB_ID`. A lone `-` in place of the ids or references reads
them from stdin. Everything here is checked before the config is read or a request is made: a
bad reference is a usage error (2) naming it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from jobwatch.errors import UsageError
from jobwatch.providers import PROVIDERS
from jobwatch.registry import names_text

STDIN = "-"
REF_FORMS = "PROVIDER JOB_ID... or PROVIDER[@PROFILE]:JOB_ID..."


@dataclass(frozen=True)
class JobRef:
    """One job: the provider, the profile named in the reference (None: the run's
    --profile), and the id in its canonical form."""

    provider: str
    profile: str | None
    job_id: str

    def with_profile(self, default: str) -> JobRef:
        return JobRef(self.provider, self.profile or default, self.job_id)


def parse_refs(args: list[str], stdin: TextIO | None = None,
               stderr: TextIO | None = None) -> list[JobRef]:
    """The references in ``args``, in command-line order, as given (not yet deduplicated:
    that needs the resolved profile, see ``unique``)."""
    if not args:
        raise UsageError("no jobs given", hint=f"give {REF_FORMS}, or - to read them from stdin")
    first = args[0]
    if first != STDIN and ":" not in first:
        provider, profile = split_provider(first)
        ids = args[1:]
        if not ids:
            raise UsageError(f"no job id given for {provider}",
                             hint=f"for example: jobwatch status {provider} "
                                  f"{_example_id(provider)}")
        if STDIN in ids:
            if ids != [STDIN]:
                raise UsageError("- reads the job ids from stdin and must be the only id",
                                 hint=f"either list the ids, or: jobwatch ... {first} - < ids.txt")
            ids = _stdin_lines(stdin, stderr, "job ids")
        return [JobRef(provider, profile, _listed_id(provider, job_id, first)) for job_id in ids]
    if STDIN in args:
        if args != [STDIN]:
            raise UsageError("- reads the job references from stdin and must be the only one",
                             hint="either list the references, or: jobwatch ... - < refs.txt")
        return [parse_ref(text) for text in _stdin_lines(stdin, stderr, "job references")]
    return [parse_ref(text) for text in args]


def parse_ref(text: str) -> JobRef:
    """`PROVIDER[@PROFILE]:JOB_ID`, split at the first `:` (ids may hold more colons)."""
    head, colon, job_id = text.partition(":")
    if not colon:
        raise UsageError(f"{text!r} is not a job reference",
                         hint=f"give {REF_FORMS}; a provider comes first, alone, only when "
                              "it is the first argument")
    provider, profile = split_provider(head, text)
    if not job_id.strip():
        raise UsageError(f"no job id in {text!r}",
                         hint=f"for example: {provider}:{_example_id(provider)}")
    return JobRef(provider, profile, _checked_id(provider, job_id, text))


def split_provider(text: str, ref: str | None = None) -> tuple[str, str | None]:
    """`claret` or `claret@staging`: the provider (checked) and the profile, if named."""
    name, at, profile = text.partition("@")
    provider = provider_name(name, ref)
    if at and not profile:
        raise UsageError(f"no profile name after '@' in {(ref or text)!r}",
                         hint=f"for example: {provider}@staging:{_example_id(provider)}")
    return provider, profile or None


def provider_name(value: str, ref: str | None = None) -> str:
    """The provider, case-insensitively, or a usage error with a suggestion."""
    name = value.strip().lower()
    if name in PROVIDERS:
        return name
    from difflib import get_close_matches

    close = get_close_matches(name, PROVIDERS, n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    where = f" in {ref!r}" if ref is not None else ""
    raise UsageError(f"unknown provider '{value}'{where}{guess}; choose {names_text()}")


def unique(refs: Iterable[JobRef], default_profile: str) -> list[JobRef]:
    """Each job once, with its profile resolved: `claret:1` and `claret@default:1` are one."""
    return list(dict.fromkeys(ref.with_profile(default_profile) for ref in refs))


def _checked_id(provider: str, job_id: str, shown: str) -> str:
    from jobwatch.adapters import ADAPTERS

    try:
        return ADAPTERS[provider].validate_id(job_id)
    except UsageError as exc:
        if shown == job_id:
            raise
        raise UsageError(f"{exc.message} (in {shown!r})", hint=exc.hint) from None


def _listed_id(provider: str, job_id: str, first: str) -> str:
    """An id after `PROVIDER`; one that is not an id of it but names a provider
    (`claret 1001 merchantops:enr_7Hq2`) gets a hint on how to mix providers."""
    try:
        return _checked_id(provider, job_id, job_id)
    except UsageError as exc:
        head = job_id.partition(":")[0].partition("@")[0].strip().lower()
        if head not in PROVIDERS:
            raise
        hint = (f"name {provider} once, then all its ids" if head == provider else
                "to mix providers, give every job as PROVIDER:JOB_ID, for example: "
                f"{provider}:{_example_id(provider)} {head}:{_example_id(head)}")
        raise UsageError(exc.message, hint=f"after '{first}' come its ids only; {hint}") from None


def _example_id(provider: str) -> str:
    from jobwatch.adapters import ADAPTERS

    return ADAPTERS[provider].id_example


def _stdin_lines(stdin: TextIO | None, stderr: TextIO | None, what: str) -> list[str]:
    """Non-blank lines that are not `#` comments, trimmed. On a terminal, a line on stderr
    says what is awaited (nothing would show otherwise)."""
    stream = sys.stdin if stdin is None else stdin
    if stream is None:
        raise UsageError(f"- reads {what} from stdin, which is closed")
    if _isatty(stream):
        (stderr or sys.stderr).write(f"jobwatch: reading {what} from stdin, one per line; "
                                     "end with Ctrl-D\n")
    try:
        lines = [line.strip() for line in stream]
    except UnicodeDecodeError:
        raise UsageError(f"stdin is not UTF-8 text: expected {what}, one per line") from None
    if lines and lines[0].startswith("\ufeff"):  # a byte order mark (a file from Notepad)
        lines[0] = lines[0][1:].strip()
    found = [line for line in lines if line and not line.startswith("#")]
    if not found:
        raise UsageError(f"no {what} on stdin",
                         hint="give one per line; blank lines and lines starting with # are "
                              "skipped")
    return found


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False
