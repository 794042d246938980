"""Every DAG in dags/ imports cleanly and follows the house rules.

Rules: tags, doc_md, retries on every task, an explicit schedule, and parsing that is
cheap enough for the scheduler (no GX or dbt import at module level).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DAG_FILES = sorted((REPO_ROOT / "dags").glob("*.py"))

# Tasks that must not retry, and why. Every other task retries.
NO_RETRY_BY_DESIGN = {
    # Cosmos watcher producer: one `dbt build` for all nodes; a retry would rebuild everything,
    # while each model's own sensor task retries just its node.
    ("mp_transform", "dbt.dbt_producer_watcher"),
    # Fails the run when an upstream task failed; those states cannot change while it retries.
    ("mp_ingest", "run_outcome"),
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_dag_files_exist() -> None:
    assert DAG_FILES, "dags/ holds no DAG file"


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}, dagbag.import_errors


def test_every_dag_file_defines_a_dag(dagbag) -> None:
    files_with_dags = {Path(d.fileloc).name for d in dagbag.dags.values()}
    assert files_with_dags == {p.name for p in DAG_FILES}


def test_dags_follow_house_rules(dagbag) -> None:
    from airflow.timetables.simple import NullTimetable

    assert dagbag.dags
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id}: no tags"
        assert dag.doc_md and len(dag.doc_md) > 40, f"{dag_id}: no doc_md"
        assert not isinstance(dag.timetable, NullTimetable), f"{dag_id}: no explicit schedule"
        assert dag.default_args.get("retries", 0) >= 1, f"{dag_id}: no retries in default_args"
        for task in dag.tasks:
            if (dag_id, task.task_id) in NO_RETRY_BY_DESIGN:
                continue
            assert task.retries >= 1, f"{dag_id}.{task.task_id}: no retries"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_does_not_import_heavy_libraries(dag_file: Path) -> None:
    """GX costs ~10 s to import and dbt several: never at parse time."""
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "heavy = [m for m in ('great_expectations', 'dbt.cli.main', 'matplotlib', 'playwright') "
        "if m in sys.modules]; print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(dag_file)], capture_output=True, text=True, check=True, timeout=120
    )
    verdict = [line for line in out.stdout.splitlines() if line.startswith("HEAVY=")]
    assert verdict == ["HEAVY="], f"{dag_file.name} imports at parse time: {verdict}"


def test_transform_is_scheduled_on_every_raw_table_and_stored_as_a_plain_asset_any(dagbag) -> None:
    """mp_transform's schedule is a hash-caching AssetAny subclass (orchestration.ANY_RAW_ASSET):
    it must serialise as Airflow's own `asset_any` of every raw table, and hash as a plain
    AssetAny of the same Assets would (a DAG's hash includes its schedule)."""
    from airflow.sdk import AssetAny
    from airflow.serialization.serialized_objects import DagSerialization
    from matrix_pulse.orchestration import ANY_RAW_ASSET, RAW_ASSETS

    dag = dagbag.dags["mp_transform"]
    stored = DagSerialization.to_dict(dag)["dag"]["timetable"]["__var"]["asset_condition"]
    assert stored["__type"] == "asset_any"
    assert [o["name"] for o in stored["objects"]] == [a.name for a in RAW_ASSETS.values()]
    back = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert len(back.timetable.asset_condition.objects) == len(RAW_ASSETS)
    plain = AssetAny(*RAW_ASSETS.values())
    assert hash(ANY_RAW_ASSET) == hash(plain) and plain == ANY_RAW_ASSET


def test_pack_builds_run_at_most_one_per_core(dagbag) -> None:
    """The executor has more slots than cores (scripts/airflow_up.sh); the CPU-bound mapped pack
    builds must still run one per core."""
    import os

    assert dagbag.dags["mp_report"].get_task("build_pack").max_active_tis_per_dagrun == (os.cpu_count() or 2)
