"""The transform DAG: its shape (one Cosmos watcher producer, ONE consumer per seed and model
that also reports the node's data tests, the writer pool for the writers only, Asset schedule),
an end-to-end `dag.test()` run on the fixture warehouse while an analyst holds the previously
published copy open, and a run where a data test fails: its model's task fails (on its retry
too, which builds the model and its tests again), the run fails, and nothing is published."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

import duckdb
import pytest
from matrix_pulse.settings import REPO_ROOT, get_settings


def _load_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "mp_transform.py"))
    assert bag.import_errors == {}, bag.import_errors
    return bag.dags["mp_transform"]


def _node_of(task_id: str) -> tuple[str, str]:
    """``dbt.<model>_run`` / ``dbt.<seed>_seed`` -> (node, kind)."""
    node, kind = task_id.split(".", 1)[1].rsplit("_", 1)
    return node, kind


def test_dag_shape(fixture_home):

    from airflow.sdk import AssetAny
    from cosmos.constants import PRODUCER_WATCHER_DONE_TASK_ID, PRODUCER_WATCHER_TASK_ID
    from matrix_pulse.orchestration import MARTS_ASSET, PUBLISHED_ASSET, RAW_ASSETS, WRITER_POOL
    from matrix_pulse.transform.cosmos_config import MANIFEST_PATH

    dag = _load_dag()
    assert dag.max_active_runs == 1
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert set(condition.objects) == set(RAW_ASSETS.values())

    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    ours = {k: n for k, n in manifest["nodes"].items() if n["package_name"] == "matrix_pulse"}
    nodes = {n["name"] for n in ours.values() if n["resource_type"] in ("model", "seed")}
    # a data test counts for the node it is declared on; one declared on none of the nodes it reads
    # (a singular test) for each of them
    tested = {
        ours[parent]["name"]
        for n in ours.values()
        if n["resource_type"] == "test"
        for parent in n["depends_on"]["nodes"]
        if parent in ours and n.get("attached_node") in (parent, None)
    }
    producer = dag.get_task(f"dbt.{PRODUCER_WATCHER_TASK_ID}")
    gate = f"dbt.{PRODUCER_WATCHER_DONE_TASK_ID}"
    consumers = [
        t for t in dag.tasks if t.task_id.startswith("dbt.") and t.task_id not in (producer.task_id, gate)
    ]
    # ONE consumer per seed and model, no `.test` task: the node's task reports its tests too
    assert len(consumers) == len(nodes)
    assert {_node_of(t.task_id) for t in consumers} == {
        (n["name"], "run" if n["resource_type"] == "model" else "seed")
        for n in ours.values()
        if n["resource_type"] in ("model", "seed")
    }
    assert {
        t.extra_context["dbt_node_config"]["name"] for t in consumers if t._node_has_tests
    } == tested & nodes
    # every consumer starts with the run, beside the build, whatever its outcome and its parents':
    # the producer is drawn upstream of the roots, dbt's lineage between the consumers, and a
    # consumer knows its parents' tasks (it rebuilds its node only once they have succeeded)
    by_id = {t.task_id: t for t in consumers}
    for t in consumers:
        assert producer.task_id in t.get_flat_relative_ids(upstream=True), t.task_id
        assert t.trigger_rule == "always", t.task_id
        parents = t.upstream_task_ids - {producer.task_id}
        assert parents <= set(by_id), t.task_id
        assert (producer.task_id in t.upstream_task_ids) == (not parents), t.task_id
        assert t._parent_consumers == tuple(sorted(parents)), t.task_id
        assert t.start_trigger_args.trigger_kwargs["parent_task_ids"] == sorted(parents), t.task_id
        # under a scheduler it starts in the triggerer, reading the producer's XComs by its full id
        assert t.start_from_trigger is True, t.task_id
        kwargs = t.start_trigger_args.trigger_kwargs
        assert kwargs["producer_task_id"] == producer.task_id, t.task_id
        assert kwargs["model_unique_id"] == t.model_unique_id
        assert kwargs["has_tests"] == t._node_has_tests
        assert t.start_trigger_args.next_method == "resume_on_worker"
    # dbt's lineage: fct_leads is built from int_leads_duplicates_flagged and the dimensions
    assert {"dbt.int_leads_duplicates_flagged_run", "dbt.dim_dealer_run"} <= by_id[
        "dbt.fct_leads_run"
    ].upstream_task_ids
    assert producer.retries == 0
    # no unit tests in the build the DAG runs, nor in a consumer's retry (test_dbt_build runs them):
    # the dbt command line Cosmos assembles for each
    for t in (producer, *consumers):
        cmd, _ = t.build_cmd(context={}, cmd_flags=t.add_cmd_flags())
        flag = cmd.index("--exclude-resource-type")
        assert cmd[flag + 1] == "unit_test", (t.task_id, cmd)
    # the relationships test declared on fct_leads counts for fct_leads, not for dim_dealer
    relationship = next(
        uid
        for uid, n in ours.items()
        if n["resource_type"] == "test"
        and n.get("attached_node") == "model.matrix_pulse.fct_leads"
        and "model.matrix_pulse.dim_dealer" in n["depends_on"]["nodes"]
    )
    assert relationship in producer.tests_per_model["model.matrix_pulse.fct_leads"]
    assert relationship not in producer.tests_per_model.get("model.matrix_pulse.dim_dealer", [])
    assert {u for u in producer.tests_per_model if u in ours} == {
        u for u, n in ours.items() if n["name"] in tested
    }
    # every task that writes the warehouse holds the one writer slot; the consumer sensors only
    # read the producer's XComs, beside it, so they do not queue behind each other in it
    assert producer.pool == WRITER_POOL
    assert dag.get_task("publish_marts").pool == WRITER_POOL
    assert dag.get_task("generate_dbt_docs").pool == WRITER_POOL
    for t in consumers:
        assert t.pool != WRITER_POOL, t.task_id
    publish = dag.get_task("publish_marts")
    assert {MARTS_ASSET, PUBLISHED_ASSET} <= set(publish.outlets)
    # publishing waits for every model's and seed's task, not only the group's last ones: a
    # failed one anywhere keeps the copy as it was and fails the run
    assert publish.upstream_task_ids >= {gate} | {t.task_id for t in consumers}
    assert publish.trigger_rule == "all_success"


class _ProducerXComs:
    """The part of a task instance a consumer reads: the producer's XComs (and its try number)."""

    def __init__(self, xcoms: dict[str, object]) -> None:
        self.xcoms, self.try_number, self.map_index = xcoms, 1, -1

    def xcom_pull(self, task_ids, key):
        return self.xcoms.get(key)


def test_a_models_task_reads_its_tests_after_its_own_status(monkeypatch):
    """The decision of the one consumer per model, on the producer's XComs: the model's status,
    then the aggregate of its data tests (or, without one, the producer's outcome)."""
    from airflow.exceptions import AirflowException, AirflowRescheduleException
    from airflow.sdk.exceptions import TaskDeferred

    dag = _load_dag()
    tested = dag.get_task("dbt.stg_reference__roster_accounts_run")
    assert tested._node_has_tests
    model = "model__matrix_pulse__stg_reference__roster_accounts"
    producer = {"state": "success"}
    monkeypatch.setattr(tested, "_get_producer_task_status", lambda context: producer["state"])

    def poke(task, tests_status, model_status="success"):
        uid = task.model_unique_id.replace(".", "__")
        ti = _ProducerXComs({f"{uid}_status": {"status": model_status, "outlet_uris": []}})
        if tests_status is not None:
            ti.xcoms[f"{model}_tests_status"] = tests_status
        return task.poke({"ti": ti, "task_instance": ti, "run_id": "r"})

    assert poke(tested, "pass") is True
    with pytest.raises(AirflowException, match="not all of its dbt data tests passed"):
        poke(tested, "fail")
    with pytest.raises(AirflowException, match="finished with status 'error'"):
        poke(tested, "pass", model_status="error")  # the model's own failure comes first
    producer["state"] = "running"
    assert poke(tested, None) is False  # built, its tests still running: poke again
    producer["state"] = "success"
    assert poke(tested, None) is True  # a build that succeeded failed no test
    producer["state"] = "failed"
    with pytest.raises(AirflowException, match="before all data tests"):
        poke(tested, None)  # the build stopped before them: fail, the retry builds them
    monkeypatch.setattr(tested, "_counted_tests", False)
    assert poke(tested, None) is True  # a model without tests: its own status decides
    monkeypatch.undo()
    monkeypatch.setattr(tested, "_get_producer_task_status", lambda context: producer["state"])

    # deferred on the model's own status (a producer still running): defer again on its tests
    producer["state"] = "running"
    ti = _ProducerXComs({})
    context = {"ti": ti, "task_instance": ti, "run_id": "r"}
    with pytest.raises(TaskDeferred) as deferred:
        tested.execute_complete(context, {"status": "success"})
    assert deferred.value.trigger.is_test_sensor and deferred.value.method_name == "execute_tests_complete"
    tested.execute_tests_complete(context, {"status": "success"})
    with pytest.raises(AirflowException, match="did not pass"):
        tested.execute_tests_complete(context, {"status": "failed", "reason": "node_failed"})

    # started before the producer (`dag.test()` runs the ready tasks in no fixed order): ask to
    # run again later instead of deferring, which `dag.test()` would wait on forever
    for not_started in (None, "scheduled", "queued"):
        producer["state"] = not_started
        with pytest.raises(AirflowRescheduleException):
            tested.execute(context)
    producer["state"] = "running"  # building: defer on the node's status as Cosmos does
    with pytest.raises(TaskDeferred) as deferred:
        tested.execute(context)
    assert deferred.value.method_name == "execute_complete"


def _count_in_another_process(path, sql: str) -> int:
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2]).fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), sql], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip())


def test_a_model_built_from_a_failed_one_is_skipped_and_rebuilt_only_on_successful_parents(monkeypatch):
    """Every consumer starts with the run; what the wait for its parents' tasks gave is decided
    from their states: a failure reported for a node whose parent's task did not succeed is dbt's
    skip (the task ends skipped, naming the parent), and a rebuild (a retry, a clear) waits for
    the parents' tasks to end and runs only on parents that succeeded."""
    from airflow.sdk.exceptions import AirflowException, AirflowRescheduleException, AirflowSkipException
    from matrix_pulse.transform import watcher

    dag = _load_dag()
    task = dag.get_task("dbt.int_account_versions_derived_run")
    assert "dbt.stg_reference__roster_accounts_run" in task._parent_consumers
    states = dict.fromkeys(task._parent_consumers, "success")
    asked = []

    def task_states(dag_id, run_id, task_ids):
        asked.append((dag_id, run_id, tuple(task_ids)))
        return {t: states[t] for t in task_ids}

    monkeypatch.setattr(watcher, "_task_states", task_states)
    monkeypatch.setattr(task, "_get_producer_task_status", lambda context: "failed")
    uid = task.model_unique_id.replace(".", "__")
    # Cosmos reports dbt's skip for a failed parent as "failed"
    ti = _ProducerXComs({f"{uid}_status": {"status": "failed", "outlet_uris": []}})
    ti.dag_id = "mp_transform"
    context = {"ti": ti, "task_instance": ti, "run_id": "r"}

    with pytest.raises(AirflowException, match="failed") as raised:  # parents fine: its own failure
        task.poke(context)
    assert not isinstance(raised.value, (AirflowSkipException, AirflowRescheduleException))
    assert asked == [("mp_transform", "r", task._parent_consumers)]
    states["dbt.stg_reference__roster_accounts_run"] = "up_for_retry"
    with pytest.raises(AirflowRescheduleException):  # a parent still running: decide later
        task.poke(context)
    states["dbt.stg_reference__roster_accounts_run"] = "failed"
    with pytest.raises(AirflowSkipException, match=r"stg_reference__roster_accounts_run \(failed\)"):
        task.poke(context)

    # a retry rebuilds the node (`dbt build --select`) only on parents that succeeded
    built = []
    monkeypatch.setattr(
        watcher.DbtRunWatcherOperator,
        "_fallback_to_non_watcher_run",
        lambda self, n, c: built.append(n) or True,
    )
    with pytest.raises(AirflowSkipException, match="clear them with Downstream"):
        task._fallback_to_non_watcher_run(2, context)
    states["dbt.stg_reference__roster_accounts_run"] = "running"
    with pytest.raises(AirflowRescheduleException):
        task._fallback_to_non_watcher_run(2, context)
    assert built == []
    states["dbt.stg_reference__roster_accounts_run"] = "success"
    assert task._fallback_to_non_watcher_run(2, context) is True and built == [2]
    assert task.base_cmd == ["build"]


@pytest.mark.slow
def test_dag_runs_end_to_end_while_an_analyst_reads(fixture_home):
    from matrix_pulse.transform.publish import publish_warehouse_copy

    settings = get_settings()
    # yesterday's publication (meta only: no marts yet), held open by an analyst
    publish_warehouse_copy(settings.warehouse_path, settings.published_path)
    analyst = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        before = analyst.execute("select count(*) from meta.source_freshness").fetchone()[0]
        dag = _load_dag()
        started = time.monotonic()
        run = dag.test()
        print(f"mp_transform dag.test(): {time.monotonic() - started:.0f}s")
        failed = [ti.task_id for ti in run.get_task_instances() if ti.state != "success"]
        assert run.state == "success", failed

        # the analyst's session was neither blocked nor broken: it still reads its copy
        assert analyst.execute("select count(*) from meta.source_freshness").fetchone()[0] == before
        tables = {r[0] for r in analyst.execute("select table_name from duckdb_tables()").fetchall()}
        assert "mart_kpi_by_period" not in tables
    finally:
        analyst.close()

    # a new session sees the new marts
    assert (
        _count_in_another_process(settings.published_path, "select count(*) from marts.mart_kpi_by_period")
        > 0
    )
    assert (
        _count_in_another_process(
            settings.published_path, "select count(*) from duckdb_tables() where schema_name = 'raw'"
        )
        == 0
    )
    assert (settings.dbt_target_dir / "docs" / "index.html").exists()
    # the docs show the manifest the producer's build compiled (kept by its callback), not one
    # a second compile wrote: dbt's own would differ at least in its invocation id
    docs_manifest = settings.dbt_target_dir / "docs" / "manifest.json"
    assert docs_manifest.read_bytes() == settings.dbt_build_manifest.read_bytes()
    compiled = json.loads(docs_manifest.read_text(encoding="utf-8"))["nodes"]
    assert compiled["model.matrix_pulse.fct_content_daily"]["compiled_code"].strip()
    assert (settings.dbt_target_dir / "docs" / "catalog.json").exists()
    docs_log = (settings.dbt_target_dir / "docs" / "logs" / "dbt.log").read_text("utf-8")
    # dbt's anonymous usage events are off (dbt_env): its debug log records every one it sends
    assert "Sending event" not in docs_log
    # the docs started from the build's parse (kept beside its manifest), not from scratch
    assert "Nothing changed, skipping partial parsing" in docs_log, docs_log[-3000:]
    leftovers = [p.name for p in settings.published_path.parent.iterdir() if p.name.endswith(".tmp.duckdb")]
    assert leftovers == []


@pytest.mark.slow
def test_a_failed_data_test_fails_its_task_and_nothing_is_published(fixture_home):
    from matrix_pulse.transform.publish import publish_warehouse_copy

    settings = get_settings()
    publish_warehouse_copy(settings.warehouse_path, settings.published_path)  # yesterday's copy
    published_before = settings.published_path.stat().st_mtime_ns
    con = duckdb.connect(str(settings.warehouse_path))
    # not a matrix tier: the (error-severity) accepted_values test of the roster's staging model fails
    con.execute("update raw.matrix_roster set matrix_tier = '路人' where account_id = 'dy_official'")
    con.close()

    dag = _load_dag()
    roster = "dbt.stg_reference__roster_accounts_run"
    for t in dag.tasks:  # the failure itself, without retries and without alert e-mails
        t.retries = 0
        t.on_failure_callback = None
    # but one retry for the roster's task: a retry (or a clear in the UI) runs without the producer
    # and must still run the model's tests, or the retry would turn the failed test green
    dag.get_task(roster).retries = 1
    dag.get_task(roster).retry_delay = timedelta(0)
    run = dag.test()
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    states = {task_id: ti.state for task_id, ti in tis.items()}
    assert run.state == "failed"
    # the model's one task failed although the model itself was built: its data test failed ...
    assert states[roster] == "failed"
    assert (
        _count_in_another_process(
            settings.warehouse_path,
            "select count(*) from staging.stg_reference__roster_accounts where matrix_tier = '路人'",
        )
        > 0
    )
    assert tis[roster].try_number == 2  # ... and again on its retry, a `dbt build` of it and its tests
    assert states["dbt.int_account_versions_derived_run"] == "skipped"  # dbt skipped it too
    # ... and every model built from it, however far down: skipped, none failed, none upstream_failed
    built_from_roster = dag.get_task(roster).get_flat_relative_ids(upstream=False) & set(states)
    consumers = {t for t in built_from_roster if t.endswith(("_run", "_seed"))}
    assert len(consumers) >= 10 and {states[t] for t in consumers} == {"skipped"}, {
        t: states[t] for t in consumers
    }
    assert states["dbt.stg_douyin__posts_run"] == "success"  # models whose tests passed still report
    assert states["dbt.platforms_seed"] == "success"
    assert not [t for t in states if t.endswith(".test")]  # no separate test tasks
    assert states["publish_marts"] == "upstream_failed"
    assert settings.published_path.stat().st_mtime_ns == published_before
