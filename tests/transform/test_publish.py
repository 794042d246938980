"""The published copy is swapped in atomically and never disturbs a reader of the old one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.transform.publish import publish_warehouse_copy


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
