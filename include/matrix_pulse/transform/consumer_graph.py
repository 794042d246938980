"""How the dbt consumers of ``watcher`` are rendered into the mp_transform DAG (at parse time).

Cosmos renders each node; ``node_converter`` swaps in our consumer class (one task per model and
seed, failed by its tests too), ``count_tests_where_declared`` decides which data tests count for
which node, and ``start_consumers_in_triggerer`` lets every consumer start in the triggerer with
its parents' task ids. ``cosmos_config`` calls them; what the tasks do at run time is ``watcher``.
"""

from __future__ import annotations

from typing import Any

from airflow.triggers.base import StartTriggerArgs
from cosmos.operators.watcher import DbtRunWatcherOperator, DbtSeedWatcherOperator

from matrix_pulse.transform.watcher import (
    DbtRunAndTestsWatcherOperator,
    DbtSeedAndTestsWatcherOperator,
    NodeVerdictTrigger,
    _NodeAndTestsConsumer,
)

# the consumer class Cosmos picks for a node -> ours (other classes, e.g. the EmptyOperator of an
# ephemeral model, stay as Cosmos renders them)
_WITH_TESTS = {
    f"{DbtRunWatcherOperator.__module__}.{DbtRunWatcherOperator.__name__}": DbtRunAndTestsWatcherOperator,
    f"{DbtSeedWatcherOperator.__module__}.{DbtSeedWatcherOperator.__name__}": DbtSeedAndTestsWatcherOperator,
}


def node_converter(
    *, dag: Any, task_group: Any, node: Any, task_args: dict[str, Any], render_config: Any, **kwargs: Any
) -> Any:
    """``RenderConfig.node_converters`` entry for models and seeds: Cosmos' own task for the node,
    with our consumer class, and no ``.test`` task beside it (``cosmos_config`` binds
    ``render_config``: Cosmos passes a converter only some of its fields).

    Under ``TestBehavior.AFTER_EACH`` Cosmos would put a tested node's ``run`` and ``test`` tasks
    in a task group named after the node; with ``node_conversion_by_task_group`` (the default) it
    hands the whole node to this converter instead, so every node is one ``<name>_run`` /
    ``<name>_seed`` task whether it has tests or not.
    """
    from cosmos.airflow.graph import _get_dbt_dag_task_group_identifier, create_task_metadata
    from cosmos.core.airflow import get_airflow_task

    meta = create_task_metadata(
        node=node,
        execution_mode=kwargs["execution_mode"],
        args=task_args,
        dbt_dag_task_group_identifier=_get_dbt_dag_task_group_identifier(dag, task_group),
        render_config=render_config,
        use_task_group=False,
        test_indirect_selection=kwargs["test_indirect_selection"],
        on_warning_callback=kwargs.get("on_warning_callback"),
        detached_from_parent=kwargs.get("detached_from_parent"),
    )
    if meta is None:
        return None
    ours = _WITH_TESTS.get(meta.operator_class)
    if ours is not None:
        meta.operator_class = f"{ours.__module__}.{ours.__name__}"
    return get_airflow_task(meta, dag, task_group)


def count_tests_where_declared(task_group: Any, manifest_nodes: dict[str, Any]) -> None:
    """Count each data test for the node it is declared on (dbt's ``attached_node``) only.

    Cosmos counts a test for every node it reads, so a relationships test declared on a fact
    (``fct_leads.dealer_id`` -> ``dim_dealer``) also decides the dimension's task, whose verdict
    then waits for the facts built at the end, and a failed test of the fact would fail the
    dimension's task too. A test declared on the fact fails the fact's task
    (and so the run: nothing is published), not the dimension's. A test without a declaring node
    among the nodes it reads (a singular test) still counts for each of them. A retry's
    ``dbt build --select <node>`` (dbt's eager test selection) also runs the tests other nodes
    declare on this one: a retry checks more than its first try, never less.
    """
    from cosmos.constants import PRODUCER_WATCHER_TASK_ID

    producer = task_group.get_child_by_label(PRODUCER_WATCHER_TASK_ID)
    read_by: dict[str, set[str]] = {}
    for node, tests in producer.tests_per_model.items():
        for test in tests:
            read_by.setdefault(test, set()).add(node)

    def counts_for(test: str, node: str) -> bool:
        declared_on = manifest_nodes.get(test, {}).get("attached_node")
        return declared_on == node or declared_on not in read_by[test]

    counted = {
        node: [t for t in tests if counts_for(t, node)] for node, tests in producer.tests_per_model.items()
    }
    # a new dict: Cosmos' graph keeps its own
    producer.tests_per_model = {node: tests for node, tests in counted.items() if tests}
    for task in task_group.iter_tasks():
        if isinstance(task, _NodeAndTestsConsumer):
            task._counted_tests = bool(producer.tests_per_model.get(task.model_unique_id))  # type: ignore[attr-defined]


def start_consumers_in_triggerer(task_group: Any) -> None:
    """Let every consumer of ``task_group`` start in the triggerer (``NodeVerdictTrigger``).

    Called once Cosmos has built the group: it sets each consumer's ``producer_task_id`` (the
    producer's full id inside the group) only after the node converters ran.
    """
    for task in task_group.iter_tasks():
        if not isinstance(task, _NodeAndTestsConsumer):
            continue
        task._parent_consumers = tuple(
            sorted(t.task_id for t in task.upstream_list if isinstance(t, _NodeAndTestsConsumer))  # type: ignore[attr-defined]
        )
        task.start_from_trigger = True  # type: ignore[attr-defined]
        task.start_trigger_args = StartTriggerArgs(  # type: ignore[attr-defined]
            trigger_cls=f"{NodeVerdictTrigger.__module__}.{NodeVerdictTrigger.__name__}",
            trigger_kwargs={
                "model_unique_id": task.model_unique_id,  # type: ignore[attr-defined]
                "producer_task_id": task.producer_task_id,  # type: ignore[attr-defined]
                "has_tests": task._node_has_tests,
                "poke_interval": task.poke_interval,  # type: ignore[attr-defined]
                "parent_task_ids": list(task._parent_consumers),
            },
            next_method="resume_on_worker",
            next_kwargs=None,
            timeout=None,
        )
