"""What a provider's simulator script is: its path prefix, its routes and its wire format, on
top of what the server gives it (the job clocks and the token check). One module per provider
(claret.py, merchantops.py, julep.py, retailgrid.py), named by that provider's line in
jobwatch/registry.py. Standard library only.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from jobwatch.demo import catalog
from jobwatch.demo.script import ScriptedJob, Timeline


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_answer(status: int, payload: Any, *headers: tuple[str, str]) -> Answer:
    return Answer(status, json.dumps(payload).encode(), "application/json", headers)


class World(Protocol):
    """What the server offers a provider's script."""

    url: str  # http://127.0.0.1:PORT, no trailing slash
    tenant: str  # Claret's
    organization_id: str  # MerchantOps'

    def bearer(self, headers: dict[str, str]) -> bool | None:
        """True for the right token, False for a wrong one, None when none was sent."""

    def timeline(self, provider: str, job_id: str) -> Timeline:
        """The job's clock, started by this request if it is the job's first."""

    def timeline_if_started(self, provider: str, job_id: str) -> Timeline | None: ...


class ProviderSim:
    """One provider's simulator script. ``answer`` gets the request path below ``prefix``,
    split at "/" and then percent-decoded (an encoded "/" stays inside its segment), and the
    request headers with lower-cased names."""

    name: ClassVar[str]
    prefix: ClassVar[str]  # its base_url's path on the simulator: "/julep/api"
    # The words this provider says for each of the catalog's neutral states.
    words: ClassVar[dict[str, str]]

    def __init__(self, world: World) -> None:
        self.world = world

    def fields(self) -> dict[str, str]:
        """Profile fields of the provider's own (registry.Provider.fields) that the simulator
        expects, such as Claret's tenant."""
        return {}

    def answer(self, rest: list[str], headers: dict[str, str]) -> Answer:
        raise NotImplementedError

    def word(self, state: str) -> str:
        return self.words[state]

    def job(self, job_id: str) -> ScriptedJob | None:
        return catalog.find(self.name, job_id)


# --- what the FastAPI providers (Retailgrid, MerchantOps, Julep) answer ----------------------

NOT_FOUND = json_answer(404, {"detail": "Not Found"})  # no such route
JOB_NOT_FOUND = json_answer(404, {"detail": "Job not found"})


def uuid_error(value: str) -> Answer:
    # FastAPI's answer to a path parameter that is not a UUID.
    return json_answer(422, {"detail": [{
        "type": "uuid_parsing",
        "loc": ["path", "job_id"],
        "msg": "Input should be a valid UUID, unable to parse string as a UUID",
        "input": value,
    }]})


class FastApiSim(ProviderSim):
    """A FastAPI service: the auth dependency is resolved before path parameters are
    validated, so a missing or wrong token is 401 even for a malformed id."""

    def refused(self, headers: dict[str, str]) -> Answer | None:
        ok = self.world.bearer(headers)
        if ok is None:
            return json_answer(401, {"detail": "Not authenticated"},
                               ("WWW-Authenticate", "Bearer"))
        if not ok:
            return json_answer(401, {"detail": "Invalid authentication credentials"},
                               ("WWW-Authenticate", "Bearer"))
        return None

    def uuid_job(self, raw_id: str, headers: dict[str, str]) -> Answer:
        """GET .../jobs/{job_id: UUID}: the job rendered by ``render``."""
        refused = self.refused(headers)
        if refused:
            return refused
        try:
            job_id = str(uuid.UUID(raw_id))
        except ValueError:
            return uuid_error(raw_id)
        job = self.job(job_id)
        if job is None:
            return JOB_NOT_FOUND
        return json_answer(200, self.render(job, self.world.timeline(self.name, job_id)))

    def render(self, job: Any, t: Timeline) -> dict[str, Any]:
        raise NotImplementedError
