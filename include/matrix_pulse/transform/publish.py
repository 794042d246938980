"""Publishing the read-only copy of the warehouse that analysts and the report read.

The copy holds the ``marts`` and ``meta`` schemas. It is written to a temporary file next
to the published path and moved into place with ``os.replace`` (atomic on POSIX): a reader
that has the old file open keeps reading the old inode undisturbed, the next reader opens
the new one, and nobody ever sees half a copy or waits on the writer.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from matrix_pulse.settings import Settings

PUBLISHED_SCHEMAS = ("marts", "meta")
# every schema dbt's docs show on the postgres backend (the catalog of dbt's nodes and sources)
_PG_DOCS_LAYERS = ("raw", "meta", "reference", "staging", "intermediate", "marts")


def publish(settings: Settings) -> dict[str, int]:
    """The mp_transform publish step: the read-only DuckDB copy at ``settings.published_path``,
    from the DuckDB warehouse file or from PostgreSQL (``matrix_pulse.transform.publish_pg``).
    Either way analysts and the report read the same kind of file."""
    if settings.warehouse_backend == "postgres":
        from matrix_pulse.transform.publish_pg import publish_postgres_copy

        return publish_postgres_copy(settings, settings.published_path)
    return publish_warehouse_copy(settings.warehouse_path, settings.published_path)


def generate_docs(settings: Settings, force: bool = False) -> Path:
    """The mp_transform docs step: ``generate_dbt_docs`` into ``settings.dbt_docs_dir``, fingerprinted
    on the backend's warehouse (the DuckDB file, or PostgreSQL's information_schema)."""
    warehouse = settings if settings.warehouse_backend == "postgres" else settings.warehouse_path
    return generate_dbt_docs(settings.dbt_docs_dir, warehouse=warehouse, force=force)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def publish_warehouse_copy(
    warehouse: Path, published: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS
) -> dict[str, int]:
    """Copy ``schemas`` of ``warehouse`` into a fresh DuckDB file and swap it in at ``published``.

    Returns rows per copied table (``schema.table``). Runs in the writer pool: it opens the
    warehouse like any writer does (which, in a process where dbt already holds the
    warehouse, reuses that same DuckDB instance instead of colliding with its lock) and
    ATTACHes the new file to copy into.
    """
    warehouse, published = Path(warehouse), Path(published)
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist: run the ingest and dbt first")
    published.parent.mkdir(parents=True, exist_ok=True)
    tmp = published.with_name(f".{published.stem}.{uuid.uuid4().hex}.tmp.duckdb")
    copied: dict[str, int] = {}
    try:
        con = duckdb.connect(str(warehouse))
        try:
            source_db = con.execute("select current_database()").fetchone()[0]
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = current_database() and schema_name in "
                f"({', '.join('?' for _ in schemas)}) order by schema_name, table_name",
                list(schemas),
            ).fetchall()
            con.execute(f"attach {_sql_literal(str(tmp))} as mp_published_copy")
            try:
                for schema in schemas:
                    con.execute(f"create schema if not exists mp_published_copy.{_quote(schema)}")
                for schema, table in tables:
                    name = f"{_quote(schema)}.{_quote(table)}"
                    con.execute(
                        f"create table mp_published_copy.{name} as select * from {_quote(source_db)}.{name}"
                    )
                    copied[f"{schema}.{table}"] = con.execute(
                        f"select count(*) from mp_published_copy.{name}"
                    ).fetchone()[0]
                con.execute("checkpoint mp_published_copy")
            finally:
                con.execute("detach mp_published_copy")
        finally:
            con.close()
        os.replace(tmp, published)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return copied


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


DOCS_FINGERPRINT_FILE = ".docs_fingerprint"


def docs_fingerprint(warehouse: Path | Settings) -> str:
    """What the dbt docs show: every file of the dbt project and every column of the warehouse.

    The docs (manifest: models, descriptions, SQL; catalog: relations and column types) change
    only when one of these does; new data alone changes neither. ``warehouse`` is the DuckDB
    file, opened like the publish step does (in a process where dbt holds it, DuckDB hands out
    the same instance), or the ``Settings`` of the postgres backend: then the columns come from
    PostgreSQL's information_schema, limited to the dbt schemas of ``MP_DBT_SCHEMA_PREFIX``, so
    that the docs keep being skipped on a data-only run there too (and a test build under
    another prefix in the same database changes nothing).
    """
    from matrix_pulse.transform.cosmos_config import DBT_PROJECT_DIR, project_files

    digest = hashlib.sha256()
    for f in project_files():
        digest.update(str(f.relative_to(DBT_PROJECT_DIR)).encode() + b"\0" + f.read_bytes() + b"\0")
    if not isinstance(warehouse, (str, os.PathLike)):
        from matrix_pulse.transform.publish_pg import pg_warehouse_columns

        digest.update(repr(pg_warehouse_columns(warehouse, _PG_DOCS_LAYERS)).encode())
        return digest.hexdigest()
    con = duckdb.connect(str(warehouse))
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() order by 1, 2, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    digest.update(repr(columns).encode())
    return digest.hexdigest()


def generate_dbt_docs(
    target_dir: Path, warehouse: Path | Settings | None = None, force: bool = False
) -> Path:
    """``dbt docs generate`` into ``target_dir`` (index.html, manifest.json, catalog.json).

    Skipped (the existing docs are returned) when neither the dbt project nor the warehouse's
    columns changed since the docs were generated (``docs_fingerprint``): on a daily run only
    data changed, and regenerating compiles every node and reads the catalog for nothing.
    ``force`` regenerates anyway.

    Invoked in-process with dbtRunner like the Cosmos tasks: in a process where dbt already
    holds the warehouse (``dag.test()``), a dbt subprocess could not open it.
    """
    from dbt.cli.main import dbtRunner

    from matrix_pulse.transform.cosmos_config import DBT_PROJECT_DIR, dbt_env

    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    index, stamp = target_dir / "index.html", target_dir / DOCS_FINGERPRINT_FILE
    fingerprint = docs_fingerprint(warehouse) if warehouse is not None else None
    if (
        not force
        and fingerprint is not None
        and index.exists()
        and (target_dir / "catalog.json").exists()
        and stamp.exists()
        and stamp.read_text(encoding="utf-8").strip() == fingerprint
    ):
        return index
    stamp.unlink(missing_ok=True)
    os.environ.update(dbt_env())
    result = dbtRunner().invoke(
        [
            "docs",
            "generate",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target_dir),
            "--log-path",
            str(target_dir / "logs"),
            "--quiet",
        ]
    )
    if not result.success:
        raise RuntimeError(f"dbt docs generate into {target_dir} failed: {result.exception}")
    if fingerprint is not None:
        stamp.write_text(fingerprint + "\n", encoding="utf-8")
    return index
