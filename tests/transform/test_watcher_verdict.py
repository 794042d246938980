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


def _task_instance(try_number: int) -> SimpleNamespace:
    """What the triggerer attaches to a trigger: the consumer's task instance."""
    return SimpleNamespace(
        dag_id="mp_transform", task_id="dbt.fct_leads_run", run_id="r", map_index=-1, try_number=try_number
    )


class _Polled(_Answered):
    """The trigger over a producer whose state changes from one question to the next."""

    def __init__(self, producer_states: list[str | None], try_number: int):
        super().__init__(True, None, None, None)
        self.states, self.poke_interval = iter(producer_states), 2.0
        self.task_instance = _task_instance(try_number)

    async def _get_producer_task_status(self):
        self.polls_asked = [*getattr(self, "polls_asked", []), self._polls]
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
    WAITING_POKE_S; once it builds, the node every poke_interval and the producer at every
    PRODUCER_ASKED_EVERY-th poke; it ended without this node: the worker."""
    trigger = _Polled(["queued", None, "running", "running", "failed"], try_number=1)
    events = asyncio.run(_events(trigger))
    assert [e.payload for e in events] == [{"resume": "verdict"}]
    assert watcher.PRODUCER_ASKED_EVERY == 5
    # asked at pokes 1, 2 and 3 (not building yet), then at 6 and 11, which finds it ended
    assert trigger.polls_asked == [1, 2, 3, 6, 11]
    assert sleeps == [watcher.WAITING_POKE_S] * 2 + [2.0] * 8


def test_a_retry_waits_for_the_build_to_end_before_the_worker_rebuilds(sleeps):
    """A retry (or a clear) rebuilds its node on a worker: not beside a build still running,
    which holds DuckDB's one writer."""
    trigger = _Polled(["running", "running", "success"], try_number=2)
    events = asyncio.run(_events(trigger))
    assert [e.payload for e in events] == [{"resume": "retry"}]
    assert sleeps == [2.0, 2.0]  # resumed only when the producer had ended


class _WithParents(_Answered):
    """The trigger of a node built from two parents, whose tasks' states change between questions."""

    def __init__(
        self, node: str | None, producer: str | None, parent_states: list[dict], try_number: int = 1
    ):
        super().__init__(True, node, "pass" if node == "success" else None, producer)
        self.parent_task_ids = ("dbt.dim_account_run", "dbt.stg_x_run")
        self.poke_interval = 2.0
        self.task_instance = _task_instance(try_number)
        self.parent_states = iter(parent_states)
        self.asked: list[tuple] = []


@pytest.fixture
def parents(monkeypatch):
    """The parents' task states the trigger asks for (``watcher._task_states``), answered from the trigger."""
    current: list[_WithParents] = []

    def task_states(dag_id, run_id, task_ids):
        trigger = current[0]
        trigger.asked.append((dag_id, run_id, tuple(task_ids)))
        return next(trigger.parent_states)

    monkeypatch.setattr(watcher, "_task_states", task_states)
    return current


def _run(trigger: _WithParents, parents: list) -> list:
    """The trigger's events: a payload, or the name of an event that ends the task in the triggerer."""
    parents.insert(0, trigger)
    return [
        type(e).__name__ if type(e).__name__.startswith("Task") else e.payload
        for e in asyncio.run(_events(trigger))
    ]


OK = {"dbt.dim_account_run": "success", "dbt.stg_x_run": "success"}


def test_a_node_that_passed_ends_in_the_triggerer_without_asking_for_its_parents(sleeps, parents):
    trigger = _WithParents("success", "running", [])
    assert _run(trigger, parents) == ["TaskSuccessEvent"] and trigger.asked == []


def test_a_failure_waits_for_the_parents_and_is_a_skip_when_one_of_them_failed(sleeps, parents):
    """Cosmos reports dbt's skip for a failed parent as "failed": the parents' tasks decide."""
    running = {"dbt.dim_account_run": "running", "dbt.stg_x_run": "success"}
    failed = {"dbt.dim_account_run": "failed", "dbt.stg_x_run": "success"}
    trigger = _WithParents("failed", "failed", [running, failed])
    assert _run(trigger, parents) == ["TaskSkippedEvent"]
    assert trigger.asked == [("mp_transform", "r", trigger.parent_task_ids)] * 2 and sleeps == [2.0]
    # the parents succeeded: the failure is the node's own, and the worker fails the task with it
    assert _run(_WithParents("failed", "failed", [running, OK]), parents) == [{"resume": "verdict"}]


def test_a_retry_rebuilds_after_the_build_and_the_parents_have_ended(sleeps, parents):
    waiting = {"dbt.dim_account_run": "up_for_retry", "dbt.stg_x_run": "success"}
    assert _run(_WithParents(None, "success", [waiting, OK], try_number=2), parents) == [{"resume": "retry"}]
    assert sleeps == [2.0]
    failed = {"dbt.dim_account_run": "skipped", "dbt.stg_x_run": "success"}
    assert _run(_WithParents(None, "success", [failed], try_number=2), parents) == ["TaskSkippedEvent"]


class _Node(_Answered):
    """A consumer's trigger in a triggerer shared with others: its node's status changes between
    questions, and each question is written to a log shared by the triggers."""

    def __init__(self, task_id: str, statuses: list[str | None], log: list[str], parents=()):
        super().__init__(False, None, None, "running")
        self.statuses, self.asks, self.parent_task_ids = iter(statuses), log, tuple(parents)
        self.task_instance = SimpleNamespace(**{**vars(_task_instance(1)), "task_id": task_id})

    async def get_xcom_val(self, key: str):
        self.asks.append(f"{self.task_instance.task_id} asked")
        status = next(self.statuses)
        return None if status is None else {"status": status}

    async def run(self):
        async for event in super().run():
            self.asks.append(f"{self.task_instance.task_id} decided")
            yield event


@pytest.fixture
def yielding_sleeps(monkeypatch) -> None:
    """The triggers' sleeps pass control to the other triggers of the loop without waiting."""
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        await real_sleep(0)

    monkeypatch.setattr(watcher.asyncio, "sleep", sleep)


def test_a_trigger_asks_nothing_while_a_parents_trigger_in_the_same_triggerer_has_no_verdict(yielding_sleeps):
    """dbt builds a node only after its parents: while the parent's trigger waits, the child's
    asks the API nothing; it asks as soon as the parent's has its verdict. A parent whose task is
    not in this triggerer (``dbt.stg_x_run``) does not hold it."""
    log: list[str] = []
    parent = _Node("dbt.dim_account_run", [None, None, None, "success"], log)
    # built already (it cannot be, but if it were asked it would answer): it must not be asked
    child = _Node("dbt.fct_leads_run", ["success"], log, parents=("dbt.dim_account_run", "dbt.stg_x_run"))

    async def both():  # the parent's trigger started first (one started before its parent asks once)
        return await asyncio.gather(_events(parent), _events(child))

    parent_events, child_events = asyncio.run(both())
    assert [type(e).__name__ for e in child_events + parent_events] == ["TaskSuccessEvent"] * 2
    assert log == ["dbt.dim_account_run asked"] * 4 + [
        "dbt.dim_account_run decided",
        "dbt.fct_leads_run asked",
        "dbt.fct_leads_run decided",
    ]
    assert watcher._UNDECIDED == {}
    # alone (its parents' tasks elsewhere), the child asks at once
    log.clear()
    alone = _Node("dbt.fct_leads_run", ["success"], log, parents=("dbt.dim_account_run",))
    assert [type(e).__name__ for e in asyncio.run(_events(alone))] == ["TaskSuccessEvent"]
    assert log == ["dbt.fct_leads_run asked", "dbt.fct_leads_run decided"]


def test_a_cancelled_parent_trigger_lets_its_children_ask(yielding_sleeps):
    """A trigger cancelled by the triggerer (its task cleared or marked in the UI) no longer holds
    the triggers built from it."""
    log: list[str] = []
    parent = _Node("dbt.dim_account_run", [None] * 1000, log)
    child = _Node("dbt.fct_leads_run", [None, "success"], log, parents=("dbt.dim_account_run",))

    async def cancel_the_parent():
        parent_task = asyncio.ensure_future(_events(parent))
        await asyncio.sleep(0)
        child_task = asyncio.ensure_future(_events(child))
        for _ in range(20):
            await asyncio.sleep(0)
        assert "dbt.fct_leads_run asked" not in log
        parent_task.cancel()
        return await asyncio.wait_for(child_task, timeout=10)  # not woken: TimeoutError

    assert [type(e).__name__ for e in asyncio.run(cancel_the_parent())] == ["TaskSuccessEvent"]
    assert log.count("dbt.fct_leads_run asked") == 2 and watcher._UNDECIDED == {}
