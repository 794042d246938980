"""The published copy is swapped in atomically and never disturbs a reader of the old one."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.transform.publish import publish_warehouse_copy
from matrix_pulse.transform.publish_sync import FINGERPRINTS, _fingerprint_sql, partition_column


def _warehouse(path: Path, value: int) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists meta")
    con.execute("create schema if not exists raw")
    con.execute("create or replace table marts.mart_x as select ? as v", [value])
    con.execute("create or replace table meta.load_ledger as select 'f.csv' as file_name")
    con.execute("create or replace table raw.secret as select '13812345678' as phone")
    con.close()
    return path


def _read_in_another_process(published: Path) -> str:
    """A new analyst session (another process: within one process DuckDB hands out the instance
    that is already open for the same path)."""
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute('select v from marts.mart_x').fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", code, str(published)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_publish_copies_marts_and_meta_only(tmp_path):
    wh = _warehouse(tmp_path / "wh.duckdb", 1)
    published = tmp_path / "pub" / "matrix_pulse_marts.duckdb"
    copied = publish_warehouse_copy(wh, published)
    assert copied == {"marts.mart_x": 1, "meta.load_ledger": 1}
    con = duckdb.connect(str(published), read_only=True)
    schemas = {r[0] for r in con.execute("select schema_name from duckdb_tables()").fetchall()}
    con.close()
    assert schemas == {"marts", "meta"}
    assert sorted(p.name for p in published.parent.iterdir()) == [
        "matrix_pulse_marts.duckdb"
    ]  # no temp file left


def test_open_reader_keeps_old_copy_and_new_reader_sees_new(tmp_path):
    wh = _warehouse(tmp_path / "wh.duckdb", 1)
    published = tmp_path / "matrix_pulse_marts.duckdb"
    publish_warehouse_copy(wh, published)
    analyst = duckdb.connect(str(published), read_only=True)
    try:
        assert analyst.execute("select v from marts.mart_x").fetchone() == (1,)
        _warehouse(wh, 2)
        publish_warehouse_copy(wh, published)  # must neither block nor fail while the analyst reads
        assert analyst.execute("select v from marts.mart_x").fetchone() == (1,)
        assert _read_in_another_process(published) == "2"
    finally:
        analyst.close()


def test_missing_warehouse_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        publish_warehouse_copy(tmp_path / "nope.duckdb", tmp_path / "pub.duckdb")


def test_docs_fingerprint_changes_with_columns_not_with_data(tmp_path):
    """The daily run keeps the dbt docs unless the project or the warehouse's columns changed."""
    from matrix_pulse.transform.publish import docs_fingerprint

    wh = _warehouse(tmp_path / "wh.duckdb", 1)
    first = docs_fingerprint(wh)
    _warehouse(wh, 2)  # new data, same columns
    assert docs_fingerprint(wh) == first
    con = duckdb.connect(str(wh))
    con.execute("alter table marts.mart_x add column w integer")
    con.close()
    assert docs_fingerprint(wh) != first


def test_docs_are_not_regenerated_when_nothing_they_show_changed(tmp_path):
    from matrix_pulse.transform.publish import DOCS_FINGERPRINT_FILE, docs_fingerprint, generate_dbt_docs

    wh = _warehouse(tmp_path / "wh.duckdb", 1)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("index.html", "catalog.json"):
        (docs / name).write_text("previous docs", encoding="utf-8")
    (docs / DOCS_FINGERPRINT_FILE).write_text(docs_fingerprint(wh), encoding="utf-8")
    assert generate_dbt_docs(docs, warehouse=wh) == docs / "index.html"
    assert (docs / "index.html").read_text(encoding="utf-8") == "previous docs"  # dbt would rewrite it


def _producer_target(tmp_path: Path, statuses: list[str]) -> Path:
    """A watcher producer's temporary project as Cosmos hands it to its callback."""
    import json

    project = tmp_path / "cosmos_tmp_project"
    (project / "target").mkdir(parents=True, exist_ok=True)
    (project / "target" / "manifest.json").write_text('{"nodes": {"compiled": 1}}', encoding="utf-8")
    results = [{"unique_id": f"model.x.m{i}", "status": st} for i, st in enumerate(statuses)]
    (project / "target" / "run_results.json").write_text(json.dumps({"results": results}), encoding="utf-8")
    (project / "target" / "partial_parse.msgpack").write_bytes(f"parse of {statuses}".encode())
    return project


def test_the_build_manifest_is_kept_only_when_every_node_passed(tmp_path, monkeypatch):
    from matrix_pulse.settings import get_settings
    from matrix_pulse.transform.publish import _usable_build_manifest, keep_build_manifest

    monkeypatch.setenv("MP_HOME", str(tmp_path / "home"))
    kept = get_settings().dbt_build_manifest
    assert keep_build_manifest(_producer_target(tmp_path, ["success", "pass", "success"])) == kept
    assert kept.read_text(encoding="utf-8") == '{"nodes": {"compiled": 1}}'
    assert _usable_build_manifest(kept) == kept
    # a build where one test failed (or one node was skipped) leaves no manifest for the docs
    for bad in (["success", "fail"], ["success", "skipped"], ["error"], []):
        keep_build_manifest(_producer_target(tmp_path, ["success"]))
        assert kept.exists()
        assert keep_build_manifest(_producer_target(tmp_path, bad)) is None
        assert not kept.exists() and _usable_build_manifest(kept) is None
    # unreadable run results: nothing kept either
    project = _producer_target(tmp_path, ["success"])
    (project / "target" / "run_results.json").write_text("{", encoding="utf-8")
    assert keep_build_manifest(project) is None and not kept.exists()


def test_the_build_parse_is_kept_whatever_the_outcome(tmp_path, monkeypatch):
    from matrix_pulse.settings import get_settings
    from matrix_pulse.transform.publish import BUILD_PARSE_FILE, keep_build_manifest

    monkeypatch.setenv("MP_HOME", str(tmp_path / "home"))
    parse = get_settings().dbt_build_manifest.with_name(BUILD_PARSE_FILE)
    for statuses in (["success"], ["success", "fail"], ["success", "pass"]):
        keep_build_manifest(_producer_target(tmp_path, statuses))
        # a failed test says nothing about the parse, which the docs step starts dbt from
        assert parse.read_bytes() == f"parse of {statuses}".encode()
    assert [p.name for p in parse.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_build_manifest_of_another_project_version_is_not_used(tmp_path, monkeypatch):
    from matrix_pulse.settings import get_settings
    from matrix_pulse.transform import publish

    monkeypatch.setenv("MP_HOME", str(tmp_path / "home"))
    kept = publish.keep_build_manifest(_producer_target(tmp_path, ["success"]))
    assert publish._usable_build_manifest(kept) == kept
    # the dbt project changed since that build (its fingerprint differs): docs compile themselves
    real = publish._project_digest
    monkeypatch.setattr(publish, "_project_digest", lambda: (d := real(), d.update(b"edit"), d)[-1])
    assert publish._usable_build_manifest(kept) is None
    monkeypatch.setattr(publish, "_project_digest", real)
    get_settings().dbt_build_manifest.with_name(publish.PROJECT_FINGERPRINT_FILE).unlink()
    assert publish._usable_build_manifest(kept) is None  # no fingerprint beside it: not trusted


# --- incremental publish: the new file starts from the last published one -------------------


def _tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of a published file with its rows, sorted (tables have no row order); the
    publish's own fingerprints aside (``_kept_fingerprints_hold`` checks those)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
        out = {}
        for schema, table in names:
            if (schema, table) == FINGERPRINTS:
                continue
            cols = con.execute(f"describe {schema}.{table}").fetchall()
            rows = con.execute(f"select * from {schema}.{table}").fetchall()
            out[f"{schema}.{table}"] = [tuple(c[:2] for c in cols), *sorted(rows, key=repr)]
        return out
    finally:
        con.close()


def _day_warehouse(path: Path) -> Path:
    """Marts shaped like ours: a fact table by day (several columns), a small mart without a day."""
    con = duckdb.connect(str(path))
    for schema in ("marts", "meta", "raw"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(
        "create or replace table marts.fct_daily as select cast('2026-07-01' as date) + (i % 30)::int as date_day, "
        "'p' || (i % 97) as post_id, i as views, 'x' as note from range(3000) t(i)"
    )
    con.execute("create or replace table marts.mart_small as select i as k, i * 2 as v from range(5) t(i)")
    con.execute("create or replace table meta.load_ledger as select 'f.csv' as file_name")
    con.close()
    return path


def _publish_logged(wh: Path, published: Path, caplog) -> dict[str, str]:
    """Publish and return how each table was brought up to date (the per-table debug lines)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="matrix_pulse.transform.publish"):
        publish_warehouse_copy(wh, published)
    how = {}
    for record in caplog.records:
        parts = record.getMessage().split()
        if len(parts) == 5 and parts[2] == "in":
            how[parts[0]] = parts[1]
    return how


def _kept_fingerprints_hold(published: Path) -> int:
    """Every fingerprint the published file keeps equals its table's rows hashed now; returns
    how many tables have some (the next publish trusts them instead of hashing the rows)."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        kept = con.execute(
            f"select schema_name, table_name, columns, part, n, h1, h2 from {'.'.join(FINGERPRINTS)}"
        ).fetchall()
        by_table: dict[tuple[str, str], set] = {}
        for schema, table, columns, part, n, h1, h2 in kept:
            by_table.setdefault((schema, table), set()).add((columns, part, n, h1, h2))
        for (schema, table), rows in by_table.items():
            columns = [(r[0], r[1]) for r in con.execute(f"describe {schema}.{table}").fetchall()]
            group = partition_column(columns)
            now = con.execute(
                f"select cast(part as varchar), n, h1, h2 from ({_fingerprint_sql(f'{schema}.{table}', group)})"
            ).fetchall()
            assert rows == {(repr(columns), *r) for r in now}, (
                f"{schema}.{table}: kept fingerprints are stale"
            )
        return len(by_table)
    finally:
        con.close()


def _equal_to_full_copy(wh: Path, published: Path, tmp_path: Path) -> None:
    full = tmp_path / "full" / "copy.duckdb"
    full.unlink(missing_ok=True)
    publish_warehouse_copy(wh, full)  # no earlier file: a full copy
    assert _tables(published) == _tables(full)
    _kept_fingerprints_hold(published)


def test_incremental_publish_equals_a_full_copy_and_rewrites_only_what_changed(tmp_path, caplog):
    wh = _day_warehouse(tmp_path / "wh.duckdb")
    published = tmp_path / "pub" / "matrix_pulse_marts.duckdb"
    first = _publish_logged(wh, published, caplog)
    assert set(first.values()) == {"rewritten"}  # nothing to start from

    # nothing changed: nothing is rewritten
    assert _kept_fingerprints_hold(published) == 0  # a new table's copy is hashed by the next publish
    assert set(_publish_logged(wh, published, caplog).values()) == {"unchanged"}
    assert _kept_fingerprints_hold(published) == 3
    # which are then what a publish compares with: a day's made wrong by hand counts as changed
    # (and is written again from the warehouse), the others' rows are not hashed again
    con = duckdb.connect(str(published))
    con.execute(
        "update meta.published_fingerprints set h1 = h1 + 1 where table_name = 'fct_daily' and part = '2026-07-02'"
    )
    con.close()
    how = _publish_logged(wh, published, caplog)
    assert how == {
        "marts.fct_daily": "parts",
        "marts.mart_small": "unchanged",
        "meta.load_ledger": "unchanged",
    }
    assert _kept_fingerprints_hold(published) == 3

    con = duckdb.connect(str(wh))
    # one value of a column that is neither the first nor the day, on one day
    con.execute("update marts.fct_daily set note = 'y' where date_day = '2026-07-03' and views = 2")
    # a day gone, a new day, and a day whose rows have NULL as their day
    con.execute("delete from marts.fct_daily where date_day = '2026-07-05'")
    con.execute("insert into marts.fct_daily values ('2026-08-15', 'p1', 1, 'n'), (null, 'p2', 2, 'n')")
    # a mart rebuilt with the same content (dbt rebuilds every table model), a new meta table
    con.execute("create or replace table marts.mart_small as select i as k, i * 2 as v from range(5) t(i)")
    con.execute("create table meta.ingest_runs as select 1 as run_id")
    con.close()
    analyst = duckdb.connect(str(published), read_only=True)  # holds yesterday's file
    try:
        how = _publish_logged(wh, published, caplog)
        assert analyst.execute("select count(*) from marts.fct_daily where note = 'y'").fetchone() == (0,)
        assert analyst.execute("select count(*) from marts.fct_daily").fetchone() == (3000,)
    finally:
        analyst.close()
    assert how == {
        "marts.fct_daily": "parts",
        "marts.mart_small": "unchanged",
        "meta.load_ledger": "unchanged",
        "meta.ingest_runs": "rewritten",
    }
    _equal_to_full_copy(wh, published, tmp_path)
    assert _read_count(published, "select count(*) from marts.fct_daily where note = 'y'") == 1

    # the NULL day changes again, a mart changes and a table leaves the warehouse
    con = duckdb.connect(str(wh))
    con.execute("update marts.fct_daily set views = 3 where date_day is null")
    con.execute("update marts.mart_small set v = v + 1 where k = 4")
    con.execute("drop table meta.ingest_runs")
    con.close()
    how = _publish_logged(wh, published, caplog)
    assert how["marts.fct_daily"] == "parts" and how["marts.mart_small"] == "rewritten"
    _equal_to_full_copy(wh, published, tmp_path)


def test_incremental_publish_follows_changed_columns_and_most_rows_changed(tmp_path, caplog):
    wh = _day_warehouse(tmp_path / "wh.duckdb")
    published = tmp_path / "matrix_pulse_marts.duckdb"
    publish_warehouse_copy(wh, published)
    con = duckdb.connect(str(wh))
    con.execute("update marts.fct_daily set views = views + 1")  # every day changed
    con.execute("alter table marts.mart_small alter v type double")  # same values, other type
    con.close()
    how = _publish_logged(wh, published, caplog)
    assert how["marts.fct_daily"] == "rewritten" and how["marts.mart_small"] == "rewritten"
    _equal_to_full_copy(wh, published, tmp_path)


def test_a_table_whose_days_mostly_changed_but_few_rows_gets_only_those_rows(tmp_path, caplog):
    """A lead table by creation day: a day's CRM dumps move a few leads on most days. Only the
    rows that differ are replaced (duplicate rows and a NULL day included), and the copy equals a
    full one; when most rows change the table is written anew."""
    wh = _day_warehouse(tmp_path / "wh.duckdb")
    con = duckdb.connect(str(wh))
    con.execute(
        "create table marts.fct_leads as select 'L' || i as lead_key, "
        "case when i < 2990 then cast('2026-07-01' as date) + (i % 30)::int end as created_date, "
        "i % 7 as status from range(3000) t(i)"
    )
    con.execute("insert into marts.fct_leads select * from marts.fct_leads where lead_key in ('L1', 'L2')")
    con.close()
    published = tmp_path / "pub" / "matrix_pulse_marts.duckdb"
    publish_warehouse_copy(wh, published)
    publish_warehouse_copy(wh, published)  # the copy keeps fingerprints from here on

    con = duckdb.connect(str(wh))
    # one lead moves on each of 20 of the 30 days (the changed days hold 2/3 of the rows), a
    # lead without a day changes, a duplicate goes, a lead is new
    con.execute(
        "update marts.fct_leads set status = status + 10 where substr(lead_key, 2)::int between 100 and 119"
    )
    con.execute("update marts.fct_leads set status = 99 where lead_key = 'L2995'")
    con.execute(
        "delete from marts.fct_leads where rowid = (select max(rowid) from marts.fct_leads where lead_key = 'L1')"
    )
    con.execute("insert into marts.fct_leads values ('L9000', date '2026-07-04', 1)")
    con.close()
    how = _publish_logged(wh, published, caplog)
    assert how["marts.fct_leads"] == "rows" and how["marts.fct_daily"] == "unchanged"
    _equal_to_full_copy(wh, published, tmp_path)
    assert _read_count(published, "select count(*) from marts.fct_leads where lead_key = 'L1'") == 1
    assert _read_count(published, "select count(*) from marts.fct_leads where lead_key = 'L2'") == 2

    con = duckdb.connect(str(wh))
    con.execute("update marts.fct_leads set status = status + 1")  # every row changed
    con.close()
    assert _publish_logged(wh, published, caplog)["marts.fct_leads"] == "rewritten"
    _equal_to_full_copy(wh, published, tmp_path)


def test_an_unusable_published_file_is_replaced_by_a_full_copy(tmp_path):
    wh = _day_warehouse(tmp_path / "wh.duckdb")
    published = tmp_path / "matrix_pulse_marts.duckdb"
    published.write_bytes(b"not a duckdb file")
    publish_warehouse_copy(wh, published)
    _equal_to_full_copy(wh, published, tmp_path)


def test_a_file_with_much_free_space_is_written_anew(tmp_path, caplog):
    wh = _day_warehouse(tmp_path / "wh.duckdb")
    con = duckdb.connect(str(wh))
    con.execute("create table marts.big as select i, md5(i::varchar) as s from range(300000) t(i)")
    con.close()
    published = tmp_path / "matrix_pulse_marts.duckdb"
    publish_warehouse_copy(wh, published)
    con = duckdb.connect(str(wh))
    con.execute("drop table marts.big")  # most of the published file's blocks become free
    con.close()
    publish_warehouse_copy(wh, published)
    con = duckdb.connect(str(wh))
    con.execute("create table marts.other as select 1 as x")
    con.close()
    how = _publish_logged(wh, published, caplog)
    assert set(how.values()) == {"rewritten"}  # started afresh: the free space is gone
    free, total = (
        duckdb.connect(str(published), read_only=True)
        .execute("select free_blocks, total_blocks from pragma_database_size()")
        .fetchone()
    )
    assert free <= 0.35 * total
    _equal_to_full_copy(wh, published, tmp_path)


def _read_count(path: Path, sql: str) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()
