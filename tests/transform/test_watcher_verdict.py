"""The verdict a dbt consumer reaches in the triggerer (``watcher.NodeVerdictTrigger._verdict``).

Its rules are those of the worker's path (``_NodeAndTestsConsumer._tests_passed``): success only
when the node succeeded and its tests passed (or it has none, or the producer succeeded without
an aggregate); any known failure resumes the task on a worker, which fails it with the reason;
nothing known yet while the producer still runs. The XComs and the producer's state are the
producer's own values (strings as Cosmos pushes them), answered here without a triggerer so every
combination is checked; tests/transform/test_mp_transform_scheduler.py runs the trigger in a real
triggerer.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import get_status_xcom_key
from matrix_pulse.transform import watcher
from matrix_pulse.transform.watcher import NodeVerdictTrigger

UID = "model.matrix_pulse.fct_leads"


class _Answered(NodeVerdictTrigger):
    """The trigger with the producer's XComs and state given."""

    def __init__(self, has_tests: bool, node: str | None, tests: str | None, producer: str | None):
        super().__init__(
            model_unique_id=UID, producer_task_id="dbt.dbt_producer_watcher", has_tests=has_tests
        )
        self.answers = {get_status_xcom_key(UID): None if node is None else {"status": node},
                        get_tests_status_xcom_key(UID): tests}  # fmt: skip
        self.producer = producer

    async def get_xcom_val(self, key: str):
        return self.answers[key]

    async def _get_producer_task_status(self):
        return self.producer


@pytest.mark.parametrize(
    ("has_tests", "node", "tests", "producer", "verdict"),
    [
        # the usual path after the build
        (True, "success", "pass", "success", "success"),
        (False, "success", None, "success", "success"),
        # a failed node or test: the worker fails the task with the reason
        (True, "fail", None, "failed", "resume"),
        (True, "error", None, "failed", "resume"),
        (True, "skipped", None, "failed", "resume"),
        (True, "success", "fail", "failed", "resume"),
        # no aggregate for the tests: the producer's outcome decides, as Cosmos' .test sensor did
        (True, "success", None, "success", "success"),
        (True, "success", None, "failed", "resume"),
        (True, "success", None, "running", None),
        # no status for the node: still building, or the producer ended without it
        (True, None, None, "running", None),
        (True, None, None, None, None),
        (True, None, None, "failed", "resume"),
        (False, None, None, "success", "resume"),
    ],
)
def test_verdict_follows_the_workers_rules(has_tests, node, tests, producer, verdict):
    trigger = _Answered(has_tests, node, tests, producer)
    assert asyncio.run(trigger._verdict()) == verdict


class _Polled(_Answered):
    """The trigger over a producer whose state changes from one question to the next."""

    def __init__(self, producer_states: list[str | None], try_number: int):
        super().__init__(True, None, None, None)
        self.states, self.poke_interval = iter(producer_states), 2.0
        self.task_instance = SimpleNamespace(
            dag_id="mp_transform",
            task_id="dbt.fct_leads_run",
            run_id="r",
            map_index=-1,
            try_number=try_number,
        )

    async def _get_producer_task_status(self):
        return next(self.states)


async def _events(trigger: NodeVerdictTrigger) -> list:
    return [event async for event in trigger.run()]


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The trigger's sleeps, recorded instead of slept."""
    recorded: list[float] = []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(watcher.asyncio, "sleep", sleep)
    return recorded


def test_the_trigger_polls_slowly_until_the_build_starts(sleeps):
    """Queued (e.g. behind an ingest in the writer pool), the producer is asked every
    WAITING_POKE_S; once it builds, every poke_interval; it ended without this node: the worker."""
    trigger = _Polled(["queued", None, "running", "running", "failed"], try_number=1)
    events = asyncio.run(_events(trigger))
    assert [e.payload for e in events] == [{"resume": "verdict"}]
    assert sleeps == [watcher.WAITING_POKE_S, watcher.WAITING_POKE_S, 2.0, 2.0]


def test_a_retry_waits_for_the_build_to_end_before_the_worker_rebuilds(sleeps):
    """A retry (or a clear) rebuilds its node on a worker: not beside a build still running,
    which holds DuckDB's one writer."""
    trigger = _Polled(["running", "running", "success"], try_number=2)
    events = asyncio.run(_events(trigger))
    assert [e.payload for e in events] == [{"resume": "retry"}]
    assert sleeps == [2.0, 2.0]  # resumed only when the producer had ended
