"""What every provider adapter shares: id checks, URL building, auth, answer classification."""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import quote

from pydantic import ValidationError

from jobwatch.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    TransientError,
    UnreachableError,
    UsageError,
)
from jobwatch.http import Log, open_response, origin_of, raise_if_transient
from jobwatch.models import free_word_state, percent_fraction
from jobwatch.text import printable

if TYPE_CHECKING:
    import httpx

    from jobwatch.adapters.answers.lenient import Answer, FreeWordAnswer
    from jobwatch.config import Profile
    from jobwatch.models import Job

A = TypeVar("A", bound="Answer")

SNIPPET_CHARS = 120  # of the body shown by --verbose for an answer that is not a job
SNIPPET_WINDOW = 4096  # bytes looked at for it: a secret that starts in the shown part is whole


def segment(value: str) -> str:
    """One percent-encoded path segment: '../x' and '..' can never change the endpoint."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if set(value) <= {"."} else encoded


class Adapter(ABC):
    name: ClassVar[str]
    id_form: ClassVar[str]
    id_example: ClassVar[str]
    default_base_url: ClassVar[str | None] = None
    required: ClassVar[tuple[str, ...]] = ()
    default_interval: ClassVar[float] = 2.0
    status_path: ClassVar[str]
    not_found_hint: ClassVar[str] = "check the job id and the profile's base_url"
    probe_id: ClassVar[str] = "00000000-0000-0000-0000-000000000000"  # for `config check`
    artifact_categories: ClassVar[tuple[str, ...]] = ()  # what --artifacts may pick

    def __init__(self, profile: Profile, token: str, token_source: str,
                 redact: Callable[[str], str] = str) -> None:
        self.profile = profile
        self.token = token
        self.token_source = token_source
        self.redact = redact
        self._status_urls: dict[str, str] = {}
        base_url = profile.get("base_url")
        if not base_url:
            raise ConfigError(f"no base_url for {self.name} profile '{profile.name}'",
                              hint=profile.fix_hint("base_url", '"https://..."'))
        if "@" in base_url:
            # Before any message quotes the URL: a user name or password in it, whatever its
            # form (a / or @ in the password, no scheme), is never printed.
            raise ConfigError(f"base_url ({profile.source('base_url')}) carries a user name or "
                              "password", hint="put credentials in token, token_env or "
                              "token_command, never in the URL")
        if not re.match(r"^https?://[^/]+", base_url):
            raise ConfigError(f"base_url {base_url!r} ({profile.source('base_url')}) is not an "
                              "http(s) URL")
        self.base_url: str = base_url.rstrip("/")
        try:
            self.origin = origin_of(self.base_url)
        except ValueError as exc:
            raise ConfigError(f"base_url {base_url!r} ({profile.source('base_url')}) is not a "
                              f"valid URL: {exc}") from None
        if "?" in base_url or "#" in base_url:
            # Joined as text, the endpoint's path would land in the query or the fragment.
            raise ConfigError(f"base_url {base_url!r} ({profile.source('base_url')}) has a query "
                              "or a fragment", hint="give the API root only, for example "
                              f"{self.default_base_url or 'https://api.example.com'}")
        for field in self.required:
            if not profile.get(field):
                raise ConfigError(f"no {field} for {self.name} profile '{profile.name}'",
                                  hint=profile.fix_hint(field, '"..."'))

    # -- ids and URLs ----------------------------------------------------------------------

    @classmethod
    def validate_id(cls, job_id: str) -> str:
        """The id in canonical form, or a usage error naming the expected form."""
        checked = cls._canonical_id(job_id.strip())
        if checked is None:
            raise UsageError(f"{cls.name} job ids are {cls.id_form}, not {job_id!r}",
                             hint=f"for example: jobwatch status {cls.name} {cls.id_example}")
        return checked

    @classmethod
    @abstractmethod
    def _canonical_id(cls, job_id: str) -> str | None: ...

    def url(self, template: str, **values: str) -> str:
        return self.base_url + template.format(**{k: segment(v) for k, v in values.items()})

    def status_url(self, job_id: str) -> str:
        # Asked at every poll of every job: built once per job (the profile does not change).
        url = self._status_urls.get(job_id)
        if url is None:
            url = self._status_urls[job_id] = self.url(self.status_path, job_id=job_id,
                                                       **self._path_values())
        return url

    def _path_values(self) -> dict[str, str]:
        return {}

    def secrets(self) -> list[str]:
        """What must never be printed or saved: the token, and the values of the extra headers
        whose names say they carry a credential (X-Api-Key, X-Session-Token, ...). Not every
        header value: `X-Request-Source = "jobwatch"` or `X-Debug = "1"` would be blanked out
        of the provider's answers, dates and file URLs included."""
        headers = self.profile.get("headers") or {}
        return [self.token, *(value for name, value in headers.items()
                              if _CREDENTIAL_HEADER.search(name))]

    def credentials(self) -> dict[str, str]:
        """Headers that only ever go to the base_url's own origin."""
        headers = dict(self.profile.get("headers") or {})
        headers["Authorization"] = f"Bearer {self.token}"
        return headers

    # -- when a job ends (the optional features are in jobwatch.adapters.capabilities) -----

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        """For --strict: the job succeeded, but with failed items or errors. ``detail``: the
        detail answer, for a provider with a `DetailEndpoint`."""
        return bool(job.failed_items)

    # -- talking and parsing ---------------------------------------------------------------

    def fetch(self, client: httpx.Client, job_id: str, log: Log | None = None) -> Job:
        response = open_response(client, self.status_url(job_id), credentials=self.credentials(),
                                 trusted=self.origin, redact=self.redact, log=log)
        payload, answer = self.check_answer(response, job_id, log)
        # The job is made from the answer model check_answer() read: one validation a poll.
        return self._normalized(lambda: self.from_answer(answer, payload), job_id, log)

    def normalize(self, payload: Any, job_id: str, log: Log | None = None) -> Job:
        """The job an answer read elsewhere (a detail answer) describes."""
        return self._normalized(lambda: self.parse(payload), job_id, log)

    def _normalized(self, parse: Callable[[], Job], job_id: str, log: Log | None) -> Job:
        try:
            job = parse()
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            # A value of the wrong type or range where a field belongs (ArithmeticError: a
            # 400-digit integer where a count belongs overflows a float): the provider is
            # answering badly. --verbose names the exception, so a bug in a parser shows too.
            if log is not None:
                reason = printable(f"{type(exc).__name__}: {exc}")[:SNIPPET_CHARS]
                log(self.redact(f"  {self.name}'s answer did not parse: {reason}"))
            raise TransientError(f"{self.name} answered JSON of an unexpected shape") from None
        # The id the user asked about (already checked), not whatever the answer claims; set
        # on a copy of the checked job, as both are text that no rule of Job's looks at.
        return self.resolve(job.model_copy(update={"profile": self.profile.name,
                                                   "job_id": job_id}))

    def resolve(self, job: Job) -> Job:
        """What a parsed job needs from this adapter's profile (Claret: its file URLs)."""
        return job

    def get_json(self, client: httpx.Client, url: str, job_id: str, log: Log | None = None) -> Any:
        response = open_response(client, url, credentials=self.credentials(),
                                 trusted=self.origin, redact=self.redact, log=log)
        return self.check(response, job_id, log)

    def check(self, response: httpx.Response, job_id: str, log: Log | None = None) -> Any:
        """Turn an HTTP answer into JSON, or into the error a script can branch on."""
        return self.check_answer(response, job_id, log)[0]

    def check_answer(self, response: httpx.Response, job_id: str, log: Log | None = None
                     ) -> tuple[Any, Answer]:
        """check(), keeping the answer model it read the JSON as: (payload, answer)."""
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"{self.name} refused the token (HTTP {status})",
                hint=f"the token came from {self.token_source}; check it is current and may "
                     "read jobs" + self._auth_hint_extra(),
            )
        if status == 404:
            raise NotFoundError(f"{self.name} job {job_id} not found (HTTP 404)",
                                hint=self.not_found_hint)
        raise_if_transient(response, f"{self.name} answered HTTP {status}")
        if not 200 <= status < 300:
            raise UnreachableError(f"{self.name} answered HTTP {status}: "
                                   f"{self._snippet(response)}")
        try:
            payload = parse_json(response.content)
        except (ValueError, RecursionError):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            if log is not None:
                log(self.redact(f"  body starts: {self._snippet(response)}"))
            raise TransientError(f"{self.name} answered HTTP {status} with {kind}, not JSON"
                                 ) from None
        # The model reads the status strictly: without one there is no job to show.
        answer = read_answer(self.answer_model(), payload)
        if answer is None:
            if log is not None:
                log(self.redact(f"  body starts: {self._snippet(response)}"))
            raise TransientError(f"{self.name} answered JSON without a job status")
        return payload, answer

    def _snippet(self, response: httpx.Response) -> str:
        """The start of the body, for messages. JSON escapes are undone before redaction, so a
        secret the provider wrote as "tok\\/x" or "\\u0074ok" is hidden too; the window read
        is wider than what is shown, so a secret cannot be cut into a visible prefix."""
        text = response.content[:SNIPPET_WINDOW].decode("utf-8", "replace")
        return printable(self.redact(_unescape_json(text)))[:SNIPPET_CHARS].strip()

    def _auth_hint_extra(self) -> str:
        return ""

    @staticmethod
    @abstractmethod
    def answer_model() -> type[Answer]:
        """The model of the provider's answer about a job. Imported when called: `status`
        builds the models of the provider it asks, not the four."""

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Job:
        """The normalized job from the provider's answer, read through ``answer_model()``.
        Pure: no I/O. An answer without a status raises pydantic's ValidationError."""
        return cls.from_answer(cls.answer_model().model_validate(payload), payload)

    @classmethod
    @abstractmethod
    def from_answer(cls, answer: Any, payload: Any) -> Job:
        """parse(), from ``payload`` already read as ``answer_model()`` (``answer``)."""

    # -- `config check` --------------------------------------------------------------------

    def probe_accepted(self, response: httpx.Response) -> bool:
        """Whether the answer to the probe (the status endpoint, asked about ``probe_id``) is
        the endpoint's own "no such job", which only comes once the token is accepted.

        FastAPI answers a route that does not exist with 404 {"detail": "Not Found"} before
        any auth runs, so only a 404 with another JSON detail ("Job not found") proves the
        base_url and the token."""
        if response.status_code != 404:
            return False
        body = json_or_none(response)
        return isinstance(body, dict) and "detail" in body and body != {"detail": "Not Found"}


class UuidIdAdapter(Adapter):
    """Providers whose job ids are UUIDs (Retailgrid, Julep)."""

    id_form = "UUIDs"
    id_example = "3f1c2a9e-5b7d-4c1e-9a2b-8d6e4f0a1b2c"
    probe_id = "jobwatch-config-check"  # not a UUID, on purpose: see probe_accepted

    def probe_accepted(self, response: httpx.Response) -> bool:
        # FastAPI resolves the auth dependency before it validates path parameters: a 422 for
        # a malformed id means the route exists and the token passed (401/403 if it did not).
        return response.status_code == 422

    @classmethod
    def _canonical_id(cls, job_id: str) -> str | None:
        return canonical_uuid(job_id)


def canonical_uuid(job_id: str) -> str | None:
    if not re.fullmatch(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", job_id):
        return None
    # str(uuid.UUID(...)) by hand: the uuid module brings `platform`, ~5 ms of every start.
    h = job_id.replace("-", "").lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_json(body: bytes) -> Any:
    """A provider's JSON, made possible to re-serialize: NaN and Infinity (which Python
    accepts but JSON does not) become null, and a lone UTF-16 surrogate (a valid escape that no
    encoder can write) becomes U+FFFD. Nothing else changes: a secret of ours that the provider
    echoes back stays in the data, and is hidden where text leaves the process (redact.py)."""
    payload = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    if _SURROGATE_ESCAPE.search(body):
        payload = _map_strings(payload, lambda text: _SURROGATE.sub("\ufffd", text))
    return payload


def read_answer(model: type[A], payload: object) -> A | None:
    """``payload`` read as ``model``, or None when it is no such answer (no status)."""
    try:
        return model.model_validate(payload)
    except ValidationError:
        return None


def json_or_none(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is none: for answers read only for a hint."""
    try:
        return parse_json(response.content)
    except (ValueError, RecursionError):
        return None


_CREDENTIAL_HEADER = re.compile(
    r"(?i)key|token|secret|auth|session|cookie|signature|password|credential")
_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
                   "t": "\t"}


def _unescape_json(text: str) -> str:
    """JSON string escapes undone in any text (a body cut short is no JSON to decode)."""
    return _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1)
                            else _SIMPLE_ESCAPES[m.group(2)], text)


# json.loads(body, parse_constant=...) as one decoder made once, not one per answer.
_DECODER = json.JSONDecoder(parse_constant=lambda name: None)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_map_strings(item, change) for item in value]
    if isinstance(value, dict):
        return {change(k): _map_strings(v, change) for k, v in value.items()}
    return value


def percent_fields(percent: float | None) -> dict[str, Any]:
    """Job fields for a provider that counts progress in percent (Julep, Retailgrid)."""
    return {"progress": percent_fraction(percent), "done": percent,
            "total": 100 if percent is not None else None, "unit": "percent"}


def free_word_fields(answer: FreeWordAnswer) -> dict[str, Any]:
    """Job fields Retailgrid and MerchantOps name alike: a free status word, an error message,
    the type and the timestamps."""
    return {"state": free_word_state(answer.status, answer.completed_at, answer.error_message),
            "status": answer.status, "message": answer.error_message,
            "job_type": answer.job_type, "created_at": answer.created_at,
            "started_at": answer.started_at, "finished_at": answer.completed_at}
