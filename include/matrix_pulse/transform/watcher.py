"""One Airflow task per dbt model and seed in Cosmos' watcher mode, failed by its tests too.

Cosmos renders ``TestBehavior.AFTER_EACH`` in watcher mode as two consumer sensors per tested
node (``<model>.run`` and ``<model>.test``), and refuses ``TestBehavior.BUILD``. Each sensor is a
task process under the scheduler (it parses the DAG and talks to the API), so the ``.test`` half
doubled the time the consumers take after the build. ``consumer_graph.node_converter`` renders
each node as ONE task instead: Cosmos' own task for the node, with its consumer class swapped for a
subclass (here) that, once the node itself succeeded, also reads the aggregate of its data tests.

Why ``TestBehavior.AFTER_EACH`` stays: it is what keeps the tests in the producer's ``dbt build``
(with ``NONE`` or ``AFTER_ALL`` Cosmos adds ``--resource-type model/seed/snapshot`` to it). The
producer pushes ``<unique_id>_tests_status`` ("pass"/"fail") once every test counted for a node
has finished, whatever the test behaviour (``DbtGraph.tests_per_model`` is always built); a test
counts for the node it is declared on (``consumer_graph.count_tests_where_declared``; Cosmos
counts a relationships test for both nodes it joins).

A retry or a clear in the UI runs ``dbt build --select <node>`` once the producer has ended: the
node and its tests, so the task still fails when a test fails.

Under a scheduler each consumer STARTS IN THE TRIGGERER (Airflow's ``start_from_trigger``): a task
process per node (start a Python, import Airflow and Cosmos, parse the DAG, talk to the API) only
to read two XComs was most of the DAG's time after the build. Every consumer starts with the run,
beside the build (``cosmos_config.wire_consumers_beside_producer``), and polls the producer's
XComs while dbt builds, once the triggers of its parents in the same triggerer have their verdicts
(``_UNDECIDED``: 57 triggers asking every 2 s through a national build took ~46-52 CPU-s of the
triggerer's, ~21 with the wait; stop 48's note). ``NodeVerdictTrigger`` ends the task as a
success right there when the node and its tests passed, and as skipped when the node failed or
was not built because a parent's task did not succeed (dbt skips a node built from a failed one;
Cosmos reports that skip as a failure); any other outcome (a failed node or test, no verdict, a
retry or a clear) resumes the task on a worker once its parents' tasks have ended, where the code
above decides. ``dag.test()`` (and
``airflow dags test``) never starts a task from a trigger: there the consumer runs in-process, and
one picked before the producer has started is rescheduled (``execute``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import timezone
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowRescheduleException,
    AirflowSkipException,
    TaskDeferred,
)
from airflow.triggers.base import TaskSkippedEvent, TaskSuccessEvent, TriggerEvent
from asgiref.sync import sync_to_async
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    DbtTestStatus,
    ProducerTaskState,
    get_status_xcom_key,
    get_xcom_val,
    is_dbt_node_status_success,
    is_producer_task_terminated,
)
from cosmos.operators._watcher.triggerer import WatcherEventReason, WatcherTrigger
from cosmos.operators.watcher import DbtRunWatcherOperator, DbtSeedWatcherOperator

# how often a consumer's trigger asks while the producer has not started (Cosmos' sensor default)
WAITING_POKE_S = 10.0
# While the build runs, a trigger asks for its node's status at every poke but for the producer's
# state (which decides only once the build has ended without the node) at every 5th: with every
# consumer polling from the start of the build, each call is CPU the api-server and the triggerer
# take from dbt on two cores.
PRODUCER_ASKED_EVERY = 5
# The triggers of one triggerer process share its event loop. While a consumer's trigger waits for
# its node's verdict it is registered here, by run and task id; a trigger whose parent's trigger is
# still registered asks the API nothing: dbt builds a node only after its parents and their tests,
# so its verdict cannot come first. It waits for those triggers to end (woken at once, so a chain of
# models built in the last seconds is not reported level by level), then asks at every poke. A
# parent whose task runs elsewhere (on a worker, in another triggerer) is not registered: no wait.
_UNDECIDED: dict[tuple[str, str, str], asyncio.Event] = {}


class _NodeAndTestsConsumer:
    """Mixin for a watcher consumer: the node's own status, then its tests' aggregate status."""

    # the fallback's command: `dbt build` of the node also runs its tests
    _fallback_cmd = ["build"]
    # set on the instance once the fallback's `dbt build` succeeded (no __init__ here: Airflow's
    # operator metaclass wraps only the operator classes' own __init__)
    _tests_checked_by_dbt = False

    # whether any data test counts for this node; set by `consumer_graph.count_tests_where_declared` (without it,
    # Cosmos' own count: every test that reads the node)
    _counted_tests: bool | None = None

    # the consumer tasks of the nodes this node is built from (`consumer_graph.start_consumers_in_triggerer`)
    _parent_consumers: tuple[str, ...] = ()

    @property
    def _node_has_tests(self) -> bool:
        if self._counted_tests is not None:
            return self._counted_tests
        return bool(self.extra_context.get("dbt_node_config", {}).get("has_test"))  # type: ignore[attr-defined]

    def _fallback_to_non_watcher_run(self, try_number: int, context: Any) -> bool:
        """``dbt build --select <node>`` instead of Cosmos' ``dbt run``/``dbt seed``: its tests too,
        and only on its parents' final tables (``_skip_unless_parents_succeeded``)."""
        self._skip_unless_parents_succeeded(context)
        self.base_cmd = self._fallback_cmd
        result = super()._fallback_to_non_watcher_run(try_number, context)  # type: ignore[misc]
        self._tests_checked_by_dbt = True
        return result

    def _skip_unless_parents_succeeded(self, context: Any) -> None:
        """Go on once the tasks of the nodes this node is built from have ended, all successful; end
        skipped when one did not, as dbt skips a node built from a failed one.

        Every consumer starts with the run (``always``, see ``cosmos_config``); this keeps what
        waiting for the parents' tasks gave: a node not built (or failed) only because a parent
        failed ends skipped, not failed (Cosmos reports dbt's skip as a failure), and a rebuild on a
        worker (a retry, a clear, a build that ended without it) keeps dbt's order, never beside
        its parents' rebuilds (DuckDB's one writer) nor on their tables before those are rebuilt.
        ``NodeVerdictTrigger`` has waited for the parents; ``dag.test()`` may pick the task first.
        """
        if not self._parent_consumers:
            return
        failed = _parents_not_succeeded(
            _task_states(context["ti"].dag_id, context["run_id"], self._parent_consumers)
        )
        if failed is None:
            raise AirflowRescheduleException(timezone.utcnow())
        if failed:
            raise AirflowSkipException(_skipped_for(self.model_unique_id, failed))  # type: ignore[attr-defined]

    def _tests_passed(self, context: Any) -> bool:
        """True when the node's tests passed; False while they are still running; raises when one failed.

        Without an aggregate, the producer's outcome decides, as Cosmos' trigger does for its
        ``.test`` sensor: a producer that succeeded ran every test without an error; one that
        failed may have stopped before this node's tests, so the task fails and its retry
        builds the node and its tests again.
        """
        if self._tests_checked_by_dbt or not self._node_has_tests:
            return True
        uid = self.model_unique_id  # type: ignore[attr-defined]
        status = get_xcom_val(context["ti"], self.producer_task_id, get_tests_status_xcom_key(uid))  # type: ignore[attr-defined]
        if status == DbtTestStatus.PASS:
            return True
        if status is not None:
            raise AirflowException(
                f"'{uid}' built, but not all of its dbt data tests passed (dbt skips a relationships "
                "test declared on it when the model it refers to failed): "
                f"see the test results in the log of the producer task '{self.producer_task_id}'"  # type: ignore[attr-defined]
            )
        producer_state = self._get_producer_task_status(context)  # type: ignore[attr-defined]
        if producer_state == ProducerTaskState.SUCCESS:
            return True
        if is_producer_task_terminated(producer_state):
            raise AirflowException(
                f"the producer task '{self.producer_task_id}' ended ({producer_state}) before all "  # type: ignore[attr-defined]
                f"data tests of '{uid}' reported: a retry runs `dbt build --select` for it"
            )
        return False  # the build is still running this node's tests

    def poke(self, context: Any) -> bool:
        try:
            return super().poke(context) and self._tests_passed(context)  # type: ignore[misc]
        except (AirflowSkipException, AirflowRescheduleException):
            raise
        except AirflowException:
            self._skip_unless_parents_succeeded(context)  # dbt skipped it for a failed parent
            raise

    def execute(self, context: Any, **kwargs: Any) -> None:
        """Cosmos' sensor, unless the producer has not started: then ask to run again later.

        Every consumer starts with the run, beside the producer. Under a scheduler it starts in
        the triggerer and polls there, so this path only runs with a verdict in hand.
        ``dag.test()`` runs its ready tasks one at a time in no fixed order and runs a deferral's
        trigger in line: a consumer picked before the producer would wait for it forever, so
        it is rescheduled instead, and the loop runs it again after the producer. (The producer's
        state is asked again only then, not once more for every consumer.)
        """
        try:
            super().execute(context, **kwargs)  # type: ignore[misc]
        except TaskDeferred:
            if not _producer_started(self._get_producer_task_status(context)):  # type: ignore[attr-defined]
                raise AirflowRescheduleException(timezone.utcnow()) from None
            raise

    def resume_on_worker(self, context: Any, event: dict[str, Any] | None = None) -> None:
        """Where ``NodeVerdictTrigger`` hands over (anything but a plain success): the consumer's
        own path, as if the task had started on a worker."""
        self.execute(context)  # type: ignore[attr-defined]

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        """After a deferral on the node's own status: defer again on its tests while they run."""
        super().execute_complete(context, event)  # type: ignore[misc]
        if self._tests_passed(context):
            return
        self.defer(  # type: ignore[attr-defined]
            trigger=WatcherTrigger(
                model_unique_id=self.model_unique_id,  # type: ignore[attr-defined]
                producer_task_id=self.producer_task_id,  # type: ignore[attr-defined]
                dag_id=self.dag_id,  # type: ignore[attr-defined]
                run_id=context["run_id"],
                map_index=context["task_instance"].map_index,
                poke_interval=self.poke_interval,  # type: ignore[attr-defined]
                is_test_sensor=True,  # polls `<unique_id>_tests_status`
            ),
            timeout=self.execution_timeout,  # type: ignore[attr-defined]
            method_name="execute_tests_complete",
        )

    def execute_tests_complete(self, context: Any, event: dict[str, Any]) -> None:
        """After a deferral on the tests' aggregate: the verdict Cosmos' ``.test`` sensor would give."""
        if event.get("status") == EventStatus.SUCCESS:
            return
        if event.get("reason") == WatcherEventReason.PRODUCER_SKIPPED:
            self._fallback_to_non_watcher_run(context["ti"].try_number, context)
            return
        raise AirflowException(
            f"dbt data tests of '{self.model_unique_id}' did not pass ({event.get('reason')}): see the "  # type: ignore[attr-defined]
            f"log of the producer task '{self.producer_task_id}'"  # type: ignore[attr-defined]
        )


class DbtRunAndTestsWatcherOperator(_NodeAndTestsConsumer, DbtRunWatcherOperator):
    """A model's one consumer task: fails when the model or any of its data tests failed."""


class DbtSeedAndTestsWatcherOperator(_NodeAndTestsConsumer, DbtSeedWatcherOperator):
    """A seed's one consumer task: fails when the seed or any of its data tests failed."""


class NodeVerdictTrigger(WatcherTrigger):
    """A consumer's start in the triggerer: ``TaskSuccessEvent`` when the node succeeded and its
    tests passed (or it has none); any other outcome resumes the task on a worker
    (``resume_on_worker``), which fails it, skips it or, on a retry or a clear, rebuilds the node.

    Its kwargs are fixed when the DAG is parsed (``StartTriggerArgs``), so the run it belongs to
    comes from the task instance the triggerer attaches (``self.task_instance``).
    """

    def __init__(
        self,
        model_unique_id: str,
        producer_task_id: str,
        has_tests: bool,
        poke_interval: float = 5.0,
        parent_task_ids: list[str] | tuple[str, ...] = (),
    ):
        super().__init__(
            model_unique_id=model_unique_id, producer_task_id=producer_task_id, dag_id="", run_id="",
            map_index=None, poke_interval=poke_interval,
        )  # fmt: skip
        self.has_tests = has_tests
        self.parent_task_ids = tuple(parent_task_ids)
        self._producer_state: str | None = None
        self._polls = 0

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{__name__}.{type(self).__name__}",
            {"model_unique_id": self.model_unique_id, "producer_task_id": self.producer_task_id,
             "has_tests": self.has_tests, "poke_interval": self.poke_interval,
             "parent_task_ids": list(self.parent_task_ids)},
        )  # fmt: skip

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance
        self.dag_id, self.run_id, self.map_index = ti.dag_id, ti.run_id, ti.map_index
        if ti.try_number > 1:  # a retry or a clear in the UI: the worker rebuilds the node ...
            # ... once the build has ended: a retry beside it would queue on DuckDB's one writer
            while not is_producer_task_terminated(await self._get_producer_task_status()):
                await asyncio.sleep(self.poke_interval)
            failed = await self._parents_not_succeeded()  # ... and on its parents' final tables
            yield TaskSkippedEvent() if failed else TriggerEvent({"resume": "retry"})
            return
        key = (self.dag_id, self.run_id, ti.task_id)
        undecided = _UNDECIDED[key] = asyncio.Event()
        try:
            while True:
                await self._parents_decided()
                verdict = await self._verdict()
                if verdict == "success":
                    _decided(key, undecided)
                    yield TaskSuccessEvent()
                    return
                if verdict == "resume":
                    # a failure, or no verdict: the worker fails the task or builds the node, unless
                    # a parent's task did not succeed (dbt skipped this node for it)
                    _decided(key, undecided)
                    failed = await self._parents_not_succeeded()
                    if failed:
                        self.log.info("%s", _skipped_for(self.model_unique_id, failed))
                    yield TaskSkippedEvent() if failed else TriggerEvent({"resume": "verdict"})
                    return
                # the producer is building this node, or (e.g. queued for the writer pool behind an
                # ingest) has not started: then ask less often, as Cosmos' own sensor does
                building = _producer_started(self._producer_state)
                await asyncio.sleep(self.poke_interval if building else WAITING_POKE_S)
        finally:  # cancelled too (the task cleared or marked in the UI): its children ask again
            _decided(key, undecided)

    async def _parents_decided(self) -> None:
        """Wait while a parent's trigger in this process has no verdict yet (``_UNDECIDED``)."""
        while pending := [
            event
            for task_id in self.parent_task_ids
            if (event := _UNDECIDED.get((self.dag_id, self.run_id, task_id))) is not None
        ]:
            await pending[0].wait()

    async def _verdict(self) -> str | None:
        """ "success", "resume" (the worker decides) or None (not known yet)."""
        self._polls += 1
        if self._polls % PRODUCER_ASKED_EVERY == 1 or not _producer_started(self._producer_state):
            self._producer_state = await self._get_producer_task_status()
        producer = self._producer_state
        node = await self.get_xcom_val(get_status_xcom_key(self.model_unique_id))
        status = node.get("status") if isinstance(node, dict) else None
        if not is_dbt_node_status_success(status):
            return "resume" if status is not None or is_producer_task_terminated(producer) else None
        if not self.has_tests:
            return "success"
        tests = await self.get_xcom_val(get_tests_status_xcom_key(self.model_unique_id))
        if tests is None and not is_producer_task_terminated(producer):  # the outcome may be known by now
            producer = self._producer_state = await self._get_producer_task_status()
        # the same rules as _NodeAndTestsConsumer._tests_passed, whose messages the worker gives
        if tests == DbtTestStatus.PASS or (tests is None and producer == ProducerTaskState.SUCCESS):
            return "success"
        return "resume" if tests is not None or is_producer_task_terminated(producer) else None

    async def _parents_not_succeeded(self) -> list[str]:
        """Once the tasks of this node's parents have ended: those that did not succeed
        (``_NodeAndTestsConsumer._skip_unless_parents_succeeded``)."""
        while True:
            states = await sync_to_async(_task_states)(self.dag_id, self.run_id, self.parent_task_ids)
            failed = _parents_not_succeeded(states)
            if failed is not None:
                return failed
            await asyncio.sleep(self.poke_interval)


def _decided(key: tuple[str, str, str], undecided: asyncio.Event) -> None:
    """This trigger has its verdict (or ended): wake the triggers of the nodes built from it."""
    undecided.set()
    if _UNDECIDED.get(key) is undecided:
        del _UNDECIDED[key]


def _task_states(dag_id: str, run_id: str, task_ids: tuple[str, ...]) -> dict[str, str | None]:
    """The states of ``task_ids`` in the run, by one call to the execution API (as Cosmos asks
    for its producer's)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    if not task_ids:
        return {}
    found = RuntimeTaskInstance.get_task_states(dag_id=dag_id, task_ids=list(task_ids), run_ids=[run_id])
    states = found.get(run_id, {})
    return {task: None if states.get(task) is None else str(states[task]) for task in task_ids}


def _parents_not_succeeded(states: dict[str, str | None]) -> list[str] | None:
    """None while a parent's task has not ended; else "<task> (<state>)" of those that did not succeed."""
    if not all(is_producer_task_terminated(state) for state in states.values()):
        return None
    return [f"{task} ({state})" for task, state in sorted(states.items()) if state != "success"]


def _skipped_for(model_unique_id: str, failed: list[str]) -> str:
    return (
        f"'{model_unique_id}' is skipped: it is built from nodes whose tasks did not succeed "
        f"({', '.join(failed)}); once they are fixed, clear them with Downstream to rebuild it"
    )


def _producer_started(state: str | None) -> bool:
    """Whether the producer is running or has ended (it never defers, and never retries)."""
    return state == "running" or is_producer_task_terminated(state)
