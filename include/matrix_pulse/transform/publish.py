"""Publishing the read-only copy of the warehouse that analysts and the report read.

The copy holds the ``marts`` and ``meta`` schemas. It is written to a temporary file next
to the published path and moved into place with ``os.replace`` (atomic on POSIX): a reader
that has the old file open keeps reading the old inode undisturbed, the next reader opens
the new one, and nobody ever sees half a copy or waits on the writer.

The new file starts as a byte copy of the last published one and only the tables, the days of
a table or its rows whose content differs from the warehouse's are written again
(``publish_sync.sync_table``); the file that results holds the same rows as a full copy would.
What differs is found by fingerprints (row counts and row-hash sums per day); the published
file keeps its own (``meta.published_fingerprints``), so a publish hashes the warehouse's rows
only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from matrix_pulse.transform.publish_sync import COPY, quote, sql_literal, sync_schemas, sync_table

if TYPE_CHECKING:
    from matrix_pulse.settings import Settings

logger = logging.getLogger(__name__)

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
    on the backend's warehouse (the DuckDB file, or PostgreSQL's information_schema), from the
    manifest the run's build kept (``keep_build_manifest``) when there is one for this project."""
    warehouse = settings if settings.warehouse_backend == "postgres" else settings.warehouse_path
    return generate_dbt_docs(
        settings.dbt_docs_dir, warehouse=warehouse, force=force, build_manifest=settings.dbt_build_manifest
    )


def publish_warehouse_copy(
    warehouse: Path, published: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS
) -> dict[str, int]:
    """Copy ``schemas`` of ``warehouse`` into a new DuckDB file and swap it in at ``published``.

    Returns rows per published table (``schema.table``). Runs in the writer pool: it opens the
    warehouse like any writer does (which, in a process where dbt already holds the
    warehouse, reuses that same DuckDB instance instead of colliding with its lock) and
    ATTACHes the new file to copy into.

    The new file starts as a byte copy of the last published file (never written in place, so
    the copy is consistent and its readers are untouched) and only what differs is rewritten
    (``publish_sync.sync_table``): a day's run changes one or a few days of the big fact tables
    and leaves many marts as they were, and re-encoding all 10 M rows of ``fct_content_daily``
    was most of the publish (national, 2026-12-04). No published file yet, an unreadable one, or
    one with too much free space (``_COMPACT_FREE_SHARE``) is replaced by a full copy as before.
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
            _attach_start(con, published, tmp)
            try:
                source_db = con.execute("select current_database()").fetchone()[0]
                stats = {"rewritten": 0, "parts": 0, "rows": 0, "unchanged": 0}
                for schema, table in sync_schemas(con, source_db, schemas):
                    started = time.perf_counter()
                    how = sync_table(con, source_db, schema, table)
                    stats[how] += 1
                    logger.debug("%s.%s %s in %.2f s", schema, table, how, time.perf_counter() - started)
                    copied[f"{schema}.{table}"] = con.execute(
                        f"select count(*) from {COPY}.{quote(schema)}.{quote(table)}"
                    ).fetchone()[0]
                con.execute(f"checkpoint {COPY}")
                logger.info("published %s: tables %s", published, stats)
            finally:
                con.execute(f"detach {COPY}")
        finally:
            con.close()
        os.replace(tmp, published)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return copied


# A file whose free blocks (left by replaced tables and days) exceed this share of its blocks is
# rewritten in full instead, so that the published file does not keep growing day after day.
_COMPACT_FREE_SHARE = 0.35


def _attach_start(con: duckdb.DuckDBPyConnection, published: Path, tmp: Path) -> None:
    """ATTACH ``tmp`` as the new file: a copy of the last published file when it is usable."""
    if published.exists():
        shutil.copyfile(published, tmp)
        try:
            con.execute(f"attach {sql_literal(str(tmp))} as {COPY}")
            free, total = con.execute(
                "select free_blocks, total_blocks from pragma_database_size() where database_name = ?",
                [COPY],
            ).fetchone()
            if total and free / total <= _COMPACT_FREE_SHARE:
                return
            logger.info(
                "published file %s is %.0f%% free blocks: writing it anew", published, 100 * free / total
            )
            con.execute(f"detach {COPY}")
        except duckdb.Error as exc:  # not a DuckDB file we can open: start afresh
            logger.warning("cannot reuse the published file %s (%s): writing it anew", published, exc)
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    con.execute(f"attach {sql_literal(str(tmp))} as {COPY}")


DOCS_FINGERPRINT_FILE = ".docs_fingerprint"
PROJECT_FINGERPRINT_FILE = ".project_fingerprint"  # beside the kept build manifest
BUILD_PARSE_FILE = "partial_parse.msgpack"  # dbt's saved parse; the build's is kept beside its manifest


def _copy_whole(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so that a reader of ``target`` sees the old file or the whole
    new one, never half of it (a staged copy beside it, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, staged)
    os.replace(staged, target)


def _project_digest() -> hashlib._Hash:
    """sha256 over every file of the dbt project (path and content)."""
    from matrix_pulse.transform.cosmos_config import DBT_PROJECT_DIR, project_files

    digest = hashlib.sha256()
    for f in project_files():
        digest.update(str(f.relative_to(DBT_PROJECT_DIR)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest


def keep_build_manifest(project_dir: str | Path, **_: object) -> Path | None:
    """Cosmos callback of the watcher producer: keep the manifest of a build that fully passed.

    ``dbt build`` compiles every node it runs, so its manifest is the one ``dbt docs generate``
    would compile again (most of its time: README, Measured). It is copied to
    ``settings.dbt_build_manifest`` with the project's fingerprint beside it; a build with any
    node that did not pass (its run_results say so) removes the kept one instead, so that docs
    are never drawn from a half-compiled manifest: the docs step then compiles as before.
    Cosmos calls this after every producer build, failed ones included, with its temporary
    project directory (whose ``target`` is dropped afterwards).

    The build's parse (``partial_parse.msgpack``) is kept beside it too, whatever the build's
    outcome: the docs step starts dbt from it instead of parsing the project from scratch
    (``generate_dbt_docs``).
    """
    import json

    from matrix_pulse.settings import get_settings

    kept = get_settings().dbt_build_manifest
    stamp = kept.with_name(PROJECT_FINGERPRINT_FILE)
    target = Path(project_dir) / "target"
    if (target / BUILD_PARSE_FILE).is_file():
        _copy_whole(target / BUILD_PARSE_FILE, kept.with_name(BUILD_PARSE_FILE))
    try:
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
        passed = bool(results) and all(r["status"] in ("success", "pass") for r in results)
    except (OSError, ValueError, KeyError, TypeError):
        passed = False
    stamp.unlink(missing_ok=True)
    if not passed or not (target / "manifest.json").is_file():
        kept.unlink(missing_ok=True)
        return None
    _copy_whole(target / "manifest.json", kept)
    stamp.write_text(_project_digest().hexdigest() + "\n", encoding="utf-8")
    return kept


def _usable_build_manifest(build_manifest: Path | None) -> Path | None:
    """The kept build manifest, if there is one and it was built from the project as it is now."""
    if build_manifest is None or not build_manifest.is_file():
        return None
    stamp = build_manifest.with_name(PROJECT_FINGERPRINT_FILE)
    try:
        kept_for = stamp.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return build_manifest if kept_for == _project_digest().hexdigest() else None


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
    digest = _project_digest()
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
    target_dir: Path,
    warehouse: Path | Settings | None = None,
    force: bool = False,
    build_manifest: Path | None = None,
) -> Path:
    """``dbt docs generate`` into ``target_dir`` (index.html, manifest.json, catalog.json).

    Skipped (the existing docs are returned) when neither the dbt project nor the warehouse's
    columns changed since the docs were generated (``docs_fingerprint``): on a daily run only
    data changed, and regenerating compiles every node and reads the catalog for nothing.
    ``force`` regenerates anyway.

    ``build_manifest``: the manifest of the build that just passed (``keep_build_manifest``). When
    it matches the project, dbt only parses and reads the catalog (``--no-compile``) and the docs
    show that manifest, whose nodes the build compiled; otherwise ``docs generate`` compiles every
    node itself. National full build, fresh process: 7.29 / 7.20 s compiling, 2.24 / 1.80 s not
    (README, Measured).

    dbt starts from the build's saved parse kept beside ``build_manifest`` (``keep_build_manifest``)
    rather than parsing the project from scratch: dbt itself checks it against the project's files,
    the profile, the vars and the env vars and re-parses whatever differs. The profile and target
    are named as Cosmos names them to the producer's build, since they are part of what dbt checks.
    Demo week, fresh process: 4.6-4.7 s from scratch, 1.9-2.0 s from the build's parse (README,
    Measured).

    Invoked in-process with dbtRunner like the Cosmos tasks: in a process where dbt already
    holds the warehouse (``dag.test()``), a dbt subprocess could not open it.
    """
    from matrix_pulse.transform.cosmos_config import DBT_PROJECT_DIR, PROFILE_NAME, dbt_env

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
    # imported only now: importing dbt takes ~1 s, most of a daily run's docs step that skips
    from dbt.cli.main import dbtRunner

    stamp.unlink(missing_ok=True)
    compiled = _usable_build_manifest(build_manifest)
    build_parse = build_manifest.with_name(BUILD_PARSE_FILE) if build_manifest is not None else None
    if build_parse is not None and build_parse.is_file():
        shutil.copyfile(build_parse, target_dir / BUILD_PARSE_FILE)
    env = dbt_env()
    os.environ.update(env)
    result = dbtRunner().invoke(
        [
            "docs",
            "generate",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--profile",
            PROFILE_NAME,
            "--target",
            env["MP_DBT_TARGET"],
            "--target-path",
            str(target_dir),
            "--log-path",
            str(target_dir / "logs"),
            "--quiet",
            # dbt_env() turns dbt's file log off; the docs step (rarely run) keeps its debug log
            # in target/docs/logs, where it stays to be read
            "--log-level-file",
            "debug",
            *(["--no-compile"] if compiled is not None else []),
        ]
    )
    if not result.success:
        raise RuntimeError(f"dbt docs generate into {target_dir} failed: {result.exception}")
    if compiled is not None:  # --no-compile writes no manifest.json: the docs site reads the build's
        _copy_whole(compiled, target_dir / "manifest.json")
    if fingerprint is not None:
        stamp.write_text(fingerprint + "\n", encoding="utf-8")
    return index
