"""The transform DAG: its shape (Cosmos task per node, writer pool, Asset schedule) and an
end-to-end `dag.test()` run on the fixture warehouse while an analyst holds the previously
published copy open."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest
from matrix_pulse.settings import REPO_ROOT, get_settings


def _load_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "mp_transform.py"))
    assert bag.import_errors == {}, bag.import_errors
    return bag.dags["mp_transform"]


def test_dag_shape(fixture_home):
    import json

    from airflow.sdk import AssetAny
    from matrix_pulse.orchestration import MARTS_ASSET, PUBLISHED_ASSET, RAW_ASSETS, WRITER_POOL
    from matrix_pulse.transform.cosmos_config import MANIFEST_PATH

    dag = _load_dag()
    assert dag.max_active_runs == 1
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert set(condition.objects) == set(RAW_ASSETS.values())

    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    nodes = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed") and n["package_name"] == "matrix_pulse"
    }
    dbt_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")}
    assert {t.split(".", 1)[1].rsplit("_", 2)[0] for t in dbt_tasks} == nodes  # one build task per node
    for t in dag.tasks:
        assert t.pool == WRITER_POOL, t.task_id
    publish = dag.get_task("publish_marts")
    assert {MARTS_ASSET, PUBLISHED_ASSET} <= set(publish.outlets)


def _count_in_another_process(path, sql: str) -> int:
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2]).fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), sql], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip())


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
    leftovers = [p.name for p in settings.published_path.parent.iterdir() if p.name.endswith(".tmp.duckdb")]
    assert leftovers == []
