"""Data tests scoped to the changed source-days (dbt/macros/test_scope.sql) still catch what
they must.

On real DuckDB with a copy of the real dbt project: the fixture quarter is built (every test
checks every row and the tests' watermark is recorded), then a duplicate is planted in
int_content_snapshots_unioned, whose unique (platform, post_id, data_date) test is scoped.
The ingest's effect is replayed as in test_dbt_incremental (a source-day's rows stamped with a
later loaded_at). A `dbt run` between the load and the build moves the MODELS' watermarks on,
so the build leaves the planted row alone: only the test can find it. What must hold:

- a duplicate on a day loaded since the last passing build is caught (and one on a day
  nothing reloaded is not looked at: the scope is real);
- a failed test leaves the tests' watermark where it was: the next build tests the day again
  although nothing new was loaded for it;
- after a change to the project's files every day is tested;
- a first build and `dbt build --full-refresh` test every row;
- rows an ingest commits while a build runs (PostgreSQL lets it) are tested by the next build;
- a test of what a model's SQL guarantees (`by_construction`) looks at no row while the project
  is unchanged, and at every row, failing, once a change to the model breaks it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.transform.cosmos_config import PRODUCTION_BUILD_FLAGS

from .conftest import dbt
from .fixture_warehouse import build_fixture_warehouse

pytestmark = pytest.mark.slow

SCOPED_TEST = "unique_combination_of_columns_int_content_snapshots_unioned_platform__post_id__data_date"
CONSTRUCTED_TEST = "stg_crm__dcc_leads_one_row_per_status_update"  # mp_scope: {by_construction: true}
LOADED_DAY = "2026-07-04"  # douyin's day the replayed ingest re-delivers
OLD_DAY = "2026-07-01"  # a day nothing reloads


def _project_copy(tmp_path: Path) -> Path:
    """The dbt project as a throw-away copy, so a test can change its files."""
    from matrix_pulse.transform.cosmos_config import DBT_PROJECT_DIR

    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return project


def _dbt(
    project: Path, work_dir: Path, warehouse: Path, command: str, *args: str, scoped_test: str = SCOPED_TEST
) -> dict[str, dict]:
    """`dbt <command>` of ``project``; the run result of ``scoped_test`` ({} when it did not
    run), plus the whole run's return code under 'returncode'."""
    env = {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}
    flags = PRODUCTION_BUILD_FLAGS if command == "build" else ()  # a build as the DAG runs it
    result = dbt(command, work_dir, env, *flags, *args, project=project)
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    scoped = next((r for r in results if r["unique_id"].startswith(f"test.matrix_pulse.{scoped_test}.")), {})
    errors = [r["unique_id"] for r in results if r["status"] in ("error", "fail") and r is not scoped]
    assert errors == [], result.stdout[-4000:]  # only the planted duplicate may fail
    return {"returncode": result.returncode, "scoped": scoped, "stdout": result.stdout}


def _tests_watermark(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        "select project_fingerprint, raw_loaded_at from intermediate.mp_test_state where status = 'tested'"
    ).fetchall()
    con.close()
    return rows


def _load_douyin_day(warehouse: Path, loaded_at: str) -> None:
    """The ingest re-delivers LOADED_DAY of douyin: same rows, a later loaded_at."""
    con = duckdb.connect(str(warehouse))
    con.execute(
        f"update raw.douyin_posts set loaded_at = timestamp '{loaded_at}' where data_date = date '{LOADED_DAY}'"
    )
    con.close()


def _plant_duplicate(warehouse: Path, day: str) -> None:
    """One douyin snapshot of ``day`` twice in int_content_snapshots_unioned."""
    con = duckdb.connect(str(warehouse))
    con.execute(
        "insert into intermediate.int_content_snapshots_unioned select * from intermediate.int_content_snapshots_unioned "
        f"where platform = 'douyin' and data_date = date '{day}' order by post_id limit 1"
    )
    con.close()


def _remove_duplicates(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(
        "create or replace table intermediate.int_content_snapshots_unioned as "
        "select distinct * from intermediate.int_content_snapshots_unioned"
    )
    con.close()


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(project copy, warehouse) after a first build that tested every row and passed: built
    once for the module (every test starts from the same build), each test works on a copy."""
    root = tmp_path_factory.mktemp("scope_first_build")
    project = _project_copy(root)
    warehouse = build_fixture_warehouse(root / "scope.duckdb")
    first = _dbt(project, root / "first", warehouse, "build")
    assert first["returncode"] == 0 and first["scoped"]["status"] == "pass"
    assert "dbt_subquery" not in first["scoped"]["compiled_code"]  # no watermark yet: every row
    assert len(_tests_watermark(warehouse)) == 1
    assert not warehouse.with_name(warehouse.name + ".wal").exists()  # dbt checkpointed on exit
    return project, warehouse


@pytest.fixture
def built(first_build: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """This test's own copy of the first build's project and warehouse. The warehouse keeps its
    file name: DuckDB names the database after it, and the project fingerprint the tests'
    watermark is keyed by holds the sources' relation names, database included."""
    project, warehouse = first_build
    shutil.copytree(project, tmp_path / "dbt")
    copy = tmp_path / warehouse.name
    shutil.copyfile(warehouse, copy)
    return tmp_path / "dbt", copy


def test_duplicate_on_a_loaded_day_is_caught_and_tested_again_until_fixed(built, tmp_path):
    project, warehouse = built
    watermark = _tests_watermark(warehouse)
    _load_douyin_day(warehouse, "2026-07-06 06:00:00")
    # the models take the new day in; no test runs, so the tests' watermark stays
    assert _dbt(project, tmp_path / "run", warehouse, "run")["returncode"] == 0
    assert _tests_watermark(warehouse) == watermark
    _plant_duplicate(warehouse, LOADED_DAY)
    _plant_duplicate(warehouse, OLD_DAY)

    caught = _dbt(project, tmp_path / "caught", warehouse, "build")
    assert caught["returncode"] != 0 and caught["scoped"]["status"] == "fail"
    # the loaded day's duplicate only: OLD_DAY changed neither in raw nor in the project
    assert caught["scoped"]["failures"] == 1
    assert f"data_date in (cast('{LOADED_DAY}' as date))" in caught["scoped"]["compiled_code"]
    assert _tests_watermark(warehouse) == watermark  # a failed test does not move it

    # nothing new loaded: the day that failed is tested again
    again = _dbt(project, tmp_path / "again", warehouse, "build")
    assert again["scoped"]["status"] == "fail" and again["scoped"]["failures"] == 1
    assert _tests_watermark(warehouse) == watermark

    _remove_duplicates(warehouse)
    fixed = _dbt(project, tmp_path / "fixed", warehouse, "build")
    assert fixed["returncode"] == 0 and fixed["scoped"]["status"] == "pass"
    assert _tests_watermark(warehouse) != watermark  # all passed: the watermark moves on
    nothing_new = _dbt(project, tmp_path / "nothing_new", warehouse, "build")
    assert nothing_new["returncode"] == 0
    assert "where (1 = 0)) dbt_subquery" in nothing_new["scoped"]["compiled_code"]


def test_a_changed_project_tests_every_day(built, tmp_path):
    project, warehouse = built
    _plant_duplicate(warehouse, OLD_DAY)
    # same project, nothing loaded: the old day is out of scope
    unchanged = _dbt(project, tmp_path / "unchanged", warehouse, "build")
    assert unchanged["returncode"] == 0 and unchanged["scoped"]["status"] == "pass"

    model = project / "models" / "staging" / "douyin" / "stg_douyin__posts.sql"
    model.write_text(model.read_text() + "-- a changed model\n")
    changed = _dbt(project, tmp_path / "changed", warehouse, "build")
    assert changed["scoped"]["status"] == "fail" and changed["scoped"]["failures"] == 1
    assert "dbt_subquery" not in changed["scoped"]["compiled_code"]


def test_a_changed_macro_tests_every_day(built, tmp_path):
    project, warehouse = built
    _plant_duplicate(warehouse, OLD_DAY)
    macro = project / "macros" / "staging.sql"  # the body of latest_delivery, which staging uses
    assert macro.read_text().count("    select *\n    from (\n") == 1
    macro.write_text(
        macro.read_text().replace("    select *\n    from (\n", "    select * -- changed\n    from (\n")
    )
    changed = _dbt(project, tmp_path / "changed", warehouse, "build")
    assert changed["scoped"]["status"] == "fail" and changed["scoped"]["failures"] == 1


def test_full_refresh_tests_every_day(built, tmp_path):
    project, warehouse = built
    _load_douyin_day(warehouse, "2026-07-06 06:00:00")
    full = _dbt(project, tmp_path / "full", warehouse, "build", "--full-refresh")
    assert full["returncode"] == 0 and full["scoped"]["status"] == "pass"
    assert "dbt_subquery" not in full["scoped"]["compiled_code"]
    # and a plain build after it has the watermark of the full refresh's passing tests
    after = _dbt(project, tmp_path / "after", warehouse, "build")
    assert after["returncode"] == 0
    assert "where (1 = 0)) dbt_subquery" in after["scoped"]["compiled_code"]


def test_rows_loaded_while_a_build_runs_are_tested_by_the_next_build(built, tmp_path):
    """On PostgreSQL an ingest may commit while dbt builds. The tests' watermark is what the build
    saw when it STARTED, so a day loaded during the build stays in the next build's scope."""
    project, warehouse = built
    # the "ingest": a model whose post-hook re-stamps a douyin day mid-build, after the start
    (project / "models" / "zz_ingest_during_build.sql").write_text(
        "{{ config(materialized='table', post_hook=\"update raw.douyin_posts set loaded_at = "
        f"timestamp '2026-07-06 06:00:00' where data_date = date '{LOADED_DAY}'\") }}}}\nselect 1 as x\n"
    )
    during = _dbt(project, tmp_path / "during", warehouse, "build")
    assert during["returncode"] == 0 and _tests_watermark(warehouse)  # passed: the watermark moved
    next_build = _dbt(project, tmp_path / "next", warehouse, "build")
    assert next_build["returncode"] == 0
    assert f"data_date in (cast('{LOADED_DAY}' as date))" in next_build["scoped"]["compiled_code"]


def test_a_key_the_sql_guarantees_is_tested_only_when_the_project_changes(built, tmp_path):
    """stg_crm__dcc_leads keeps one row per (clue_id, updated_at) whatever the CRM delivers: its
    key test reads no row on a build of the same project, and every row after a change to it."""
    project, warehouse = built
    crm = ("--select", "stg_crm__dcc_leads")
    same = _dbt(project, tmp_path / "same", warehouse, "build", *crm, scoped_test=CONSTRUCTED_TEST)
    assert same["returncode"] == 0 and same["scoped"]["status"] == "pass"
    assert "where (1 = 0)) dbt_subquery" in same["scoped"]["compiled_code"]

    model = project / "models" / "staging" / "crm" / "stg_crm__dcc_leads.sql"
    assert model.read_text().endswith("select * from marked\n")
    model.write_text(  # a change that breaks the key: one status row twice
        model.read_text() + "union all (select * from marked order by clue_id, updated_at limit 1)\n"
    )
    broken = _dbt(project, tmp_path / "broken", warehouse, "build", *crm, scoped_test=CONSTRUCTED_TEST)
    assert broken["scoped"]["status"] == "fail" and broken["scoped"]["failures"] == 1
    assert "dbt_subquery" not in broken["scoped"]["compiled_code"]
