"""`-p demo` on the client's side: the running simulator, once it has proved it is the one its
state file names (jobwatch/demo/state.py says why that is enough), as a profile per provider;
and `jobwatch demo --reset`, which asks it to start every job's clock again."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from jobwatch.demo.state import (
    ALIVE_PATH,
    RESET_PATH,
    START_HINT,
    NoSimulator,
    State,
    proof,
    read_state,
)
from jobwatch.errors import ConfigError

if TYPE_CHECKING:
    from jobwatch.config import ConfigFile, Profile

Log = Callable[[str], None]
ANSWER_TIMEOUT = 3.0  # seconds; the simulator answers in a millisecond
ANSWER_LIMIT = 4096  # bytes read of an answer to the challenge or the reset
# The simulator's jobs last seconds, not minutes: poll it often (a flag still wins).
INTERVAL = "1s"


def connect(env: Mapping[str, str], log: Log | None = None) -> State:
    """The running simulator's state, proved alive and ours; ConfigError (exit 6) otherwise,
    before anything carrying its token has been sent."""
    state = read_state(env)
    challenge = secrets.token_hex(32)
    try:
        status, body = _request(state, "GET", f"{ALIVE_PATH}?challenge={challenge}", {}, log)
    except ConnectionRefusedError:
        raise NoSimulator(f"nothing answers on {state.url}") from None
    except OSError:  # a timeout, a reset, an answer that is not HTTP
        status, body = 0, b""
    if not _proved(status, body, proof(state.nonce, challenge)):
        raise ConfigError(
            f"refusing {state.url} for -p demo: what answers there did not prove to be the "
            f"simulator that wrote {state.path}; nothing was sent to it",
            hint=f"stop whatever listens on port {state.port}, then {START_HINT}")
    return state


def _proved(status: int, body: bytes, expected: str) -> bool:
    import hmac

    try:
        answered = json.loads(body).get("proof") if status == 200 else None
    except (ValueError, AttributeError):
        return False
    return isinstance(answered, str) and hmac.compare_digest(answered, expected)


def _request(state: State, method: str, path: str, headers: dict[str, str],
             log: Log | None) -> tuple[int, bytes]:
    """One request on a connection of its own; the status and at most ANSWER_LIMIT bytes."""
    import http.client

    from jobwatch import __version__

    connection = http.client.HTTPConnection(state.host, state.port, timeout=ANSWER_TIMEOUT)
    started = time.monotonic()
    outcome = "failed"
    try:
        connection.request(method, path, headers={"User-Agent": f"jobwatch/{__version__}",
                                                  **headers})
        response = connection.getresponse()
        outcome = str(response.status)
        return response.status, response.read(ANSWER_LIMIT)
    except http.client.HTTPException as exc:
        raise OSError(f"not an HTTP answer: {type(exc).__name__}") from None
    finally:
        connection.close()
        if log is not None:
            ms = (time.monotonic() - started) * 1000
            log(f"{method} {state.url}{path.split('?')[0]} {outcome} {ms:.0f}ms")


def profile(state: State, provider: str, config: ConfigFile) -> Profile:
    """``provider``'s demo profile: the simulator's URL for it, its token and the fields it
    expects. Nothing comes from the environment: no JOBWATCH_* token can reach it."""
    from jobwatch.config import FieldValue, Profile, Value
    from jobwatch.registry import REGISTRY
    from jobwatch.runtime import DEMO_PROFILE

    source = f"jobwatch demo --serve ({state.path})"
    prefix = REGISTRY[provider].load_demo().prefix
    values: dict[str, Value[FieldValue]] = {
        "base_url": Value(state.url + prefix, source),
        "token": Value(state.token, source),
        "interval": Value(INTERVAL, source),
    }
    values.update({k: Value(v, source) for k, v in state.fields.get(provider, {}).items()})
    return Profile(provider, DEMO_PROFILE, values, config)


def reset(env: Mapping[str, str], log: Log | None = None) -> int:
    """Ask the running simulator to start every job's clock again; how many had started."""
    state = connect(env, log)
    try:
        status, body = _request(state, "POST", RESET_PATH,
                                {"Authorization": f"Bearer {state.token}"}, log)
        restarted = json.loads(body)["restarted"] if status == 200 else None
    except (OSError, ValueError, KeyError, TypeError):
        restarted = None
    if not isinstance(restarted, int):
        raise ConfigError(f"the simulator on {state.url} did not restart its jobs",
                          hint="restart it instead: Ctrl-C in its terminal, then "
                               "`jobwatch demo --serve`")
    return restarted
