"""The plain log with batch=True (what `wait` uses outside GitHub Actions): the lines the
engine's answers make go out together at its next tick, before it waits; nothing is lost or
reordered on any way out, and a line that is no answer's goes out at once."""

from __future__ import annotations

import io

from jobwatch.engine import Engine, Settings, Watch
from jobwatch.models import Job, JobState
from jobwatch.ui import PlainRenderer
from tests.helpers import Clock


class Writes(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _job(watch: Watch, done: int, state: JobState = JobState.RUNNING) -> Job:
    return Job(provider=watch.provider, job_id=watch.job_id, state=state, status=state.value,
               progress=done / 8, done=done, total=8, unit="steps")


def _batched() -> tuple[PlainRenderer, Clock, Writes]:
    clock = Clock()
    out = Writes()
    return PlainRenderer(out, clock, batch=True), clock, out


def test_answers_go_out_together_at_the_tick() -> None:
    renderer, clock, out = _batched()
    watches = [Watch("claret", str(n)) for n in range(3)]
    for watch in watches:
        watch.job = _job(watch, 3)
        renderer.update(watch)
    assert out.getvalue() == ""
    renderer.tick(clock.now())
    assert out.writes == 1
    assert [line.split("] ", 1)[1] for line in out.getvalue().splitlines()] == [
        f"claret {n}: running  3/8 steps (38%)" for n in range(3)]


def test_other_lines_go_out_at_once_after_what_was_kept() -> None:
    renderer, clock, out = _batched()
    watch = Watch("claret", "1")
    watch.job = _job(watch, 3)
    renderer.update(watch)
    renderer.problem(watch, "claret answered HTTP 503; retrying in 1.0s")
    renderer.say(["hook output"])
    lines = out.getvalue().splitlines()
    assert [line.split("] ", 1)[-1] for line in lines] == [
        "claret 1: running  3/8 steps (38%)", "claret 1: claret answered HTTP 503; retrying "
        "in 1.0s", "hook output"]


def test_finish_and_abort_let_nothing_kept_behind() -> None:
    for end in ("finish", "abort"):
        renderer, _, out = _batched()
        watch = Watch("claret", "1")
        watch.job = _job(watch, 3)
        renderer.update(watch)
        if end == "finish":
            renderer.finish([], 0)
        else:
            renderer.abort()
        assert "claret 1: running" in out.getvalue(), end


def test_an_engine_run_writes_every_line_in_order() -> None:
    answers: dict[str, object] = {}

    def fetch(watch: Watch) -> Job:
        state = next(answers[watch.job_id])  # type: ignore[call-overload]
        return _job(watch, 8 if state is JobState.SUCCEEDED else 3, state)

    batched, plain = Writes(), Writes()
    for out, batch in ((batched, True), (plain, False)):
        clock = Clock()
        answers = {str(n): iter([JobState.RUNNING, JobState.SUCCEEDED]) for n in range(5)}
        renderer = PlainRenderer(out, clock, batch=batch)
        engine = Engine(fetch, renderer, Settings(interval=1, workers=0), clock=clock)
        assert engine.run([Watch("claret", str(n)) for n in range(5)]) == 0
    assert batched.getvalue() == plain.getvalue()
    assert batched.writes < plain.writes
