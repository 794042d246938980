"""Bringing one table of the published copy up to date with the warehouse (``publish``).

The publish ATTACHes the new file as ``COPY`` beside the warehouse; ``sync_schemas`` makes it
hold exactly the published schemas and tables, ``sync_table`` rewrites of each table only what
differs: nothing when its fingerprints are equal, the changed days of a table with a day column,
the changed rows of one whose changed days hold most of it but few of its rows changed (a lead's
latest state moves on any day of its creation cohort), else the whole table.
"""

from __future__ import annotations

import duckdb

COPY = "mp_published_copy"
# A table with one of these columns is compared and replaced by that column's values (a day, or
# a lead's creation day): a daily run changes a few of its 92 days. The first one present counts.
PARTITION_COLUMNS = ("date_day", "created_date")
# Replacing more than this share of a table's rows costs more than writing the table again.
_PARTIAL_MAX_SHARE = 0.5
# The published file keeps its tables' fingerprints (``_fingerprint_sql``: rows and row-hash sums
# per day, or per table without a day column), written by the publish that wrote the tables: the
# next publish compares the warehouse with these instead of hashing the last copy's rows again
# (fct_content_daily's 10 M rows on every daily run). Analysts see it as meta.published_fingerprints.
FINGERPRINTS = ("meta", "published_fingerprints")
_FINGERPRINTS = f"{COPY}.{FINGERPRINTS[0]}.{FINGERPRINTS[1]}"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sync_schemas(
    con: duckdb.DuckDBPyConnection, source_db: str, schemas: tuple[str, ...]
) -> list[tuple[str, str]]:
    """Make the new file hold exactly ``schemas`` and the tables the warehouse has in them (tables
    and schemas gone from the warehouse are dropped, and their kept fingerprints); returns those
    tables."""
    marks = ", ".join("?" for _ in schemas)
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? "
        f"and schema_name in ({marks}) order by schema_name, table_name",
        [source_db, *schemas],
    ).fetchall()
    wanted = set(tables) | {FINGERPRINTS}
    for schema, table in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ?", [COPY]
    ).fetchall():
        if (schema, table) not in wanted:
            con.execute(f"drop table {COPY}.{quote(schema)}.{quote(table)}")
    for (schema,) in con.execute(
        "select schema_name from duckdb_schemas() where database_name = ? and not internal", [COPY]
    ).fetchall():
        if schema not in (*schemas, FINGERPRINTS[0]):
            con.execute(f"drop schema {COPY}.{quote(schema)} cascade")
    for schema in dict.fromkeys([*schemas, FINGERPRINTS[0]]):
        con.execute(f"create schema if not exists {COPY}.{quote(schema)}")
    con.execute(
        f"create table if not exists {_FINGERPRINTS} (schema_name varchar, table_name varchar, "
        "columns varchar, part varchar, n bigint, h1 hugeint, h2 hugeint)"
    )
    con.execute(
        f"delete from {_FINGERPRINTS} where (schema_name, table_name) not in "
        f"(select schema_name, table_name from duckdb_tables() where database_name = ?)",
        [COPY],
    )
    return tables


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {relation}").fetchall()]


def _fingerprint_sql(relation: str, group: str | None) -> str:
    """Per ``group`` value (``part``; NULL for the whole relation without a group): the row count
    and two order-independent sums, of a hash of each row (all columns) and of a hash of that
    hash. Equal content gives equal figures whatever the row order or storage; a changed, added
    or removed row changes both sums except with a chance of the order of 2**-64. One hash of
    each row, not two (a second salted one): hashing was most of a daily publish."""
    part = quote(group) if group else "cast(null as varchar)"
    return (
        "select part, count(*) as n, sum(h::hugeint) as h1, sum(hash(h)::hugeint) as h2 "
        f"from (select {part} as part, hash(*columns(*)) as h from {relation}) group by part"
    )


def partition_column(columns: list[tuple[str, str]]) -> str | None:
    """The first of ``PARTITION_COLUMNS`` in ``columns`` (None: the table is compared whole)."""
    return next((c for c in PARTITION_COLUMNS if c in dict(columns)), None)


def _kept_fingerprints_sql(schema: str, table: str, columns: list[tuple[str, str]], part_type: str) -> str:
    """The fingerprints the last publish kept for the new file's ``schema.table`` (this column list)."""
    return (
        f"(select cast(part as {part_type}) as part, n, h1, h2 from {_FINGERPRINTS} "
        f"where schema_name = {sql_literal(schema)} and table_name = {sql_literal(table)} "
        f"and columns = {sql_literal(repr(columns))})"
    )


def sync_table(con: duckdb.DuckDBPyConnection, source_db: str, schema: str, table: str) -> str:
    """Make the new file's ``schema.table`` hold the rows of the warehouse's; returns what it took:
    ``unchanged`` (equal fingerprints), ``parts`` (only the days that differ replaced), ``rows``
    (most days differ but few rows: only the rows that differ replaced, ``_replace_changed_rows``)
    or ``rewritten`` (created anew: new, other columns, changed without a day column, or most
    rows changed).

    The warehouse's fingerprints are compared with the ones the last publish kept in the file
    (``FINGERPRINTS``), or, where it kept none, with the file's rows hashed; then they are kept
    for the next publish, as the file's table now holds exactly the warehouse's rows."""
    name = f"{quote(schema)}.{quote(table)}"
    source, target = f"{quote(source_db)}.{name}", f"{COPY}.{name}"
    columns = _columns(con, source)
    forget = (
        f"delete from {_FINGERPRINTS} where schema_name = {sql_literal(schema)} "
        f"and table_name = {sql_literal(table)}"
    )
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? and table_name = ?",
        [COPY, schema, table],
    ).fetchone()[0]
    if not exists or _columns(con, target) != columns:
        con.execute(f"create or replace table {target} as select * from {source}")
        con.execute(forget)  # the next publish hashes this copy once
        return "rewritten"
    group = partition_column(columns)
    kept = _kept_fingerprints_sql(schema, table, columns, dict(columns)[group] if group else "varchar")
    has_kept = con.execute(f"select count(*) from {kept}").fetchone()[0]
    target_fingerprints = kept if has_kept else f"({_fingerprint_sql(target, group)})"
    con.execute(f"create or replace temp table mp_publish_source as {_fingerprint_sql(source, group)}")
    try:
        # the parts (days, or the whole table) whose rows differ, or exist on one side only
        con.execute(
            "create or replace temp table mp_publish_parts as "
            "select coalesce(s.part, t.part) as part, coalesce(s.n, 0) as n "
            f"from mp_publish_source as s full join {target_fingerprints} as t "
            "on s.part is not distinct from t.part "
            "where s.n is distinct from t.n or s.h1 is distinct from t.h1 or s.h2 is distinct from t.h2"
        )
        parts, rows, has_null = con.execute(
            "select count(*), coalesce(sum(n), 0), bool_or(part is null) from mp_publish_parts"
        ).fetchone()
        how = "unchanged"
        if parts and group:
            total = con.execute("select coalesce(sum(n), 0) from mp_publish_source").fetchone()[0]
            column = quote(group)
            # NULL equals nothing: a changed NULL day is matched on its own
            in_parts = f"({column} in (select part from mp_publish_parts)" + (
                f" or {column} is null)" if has_null else ")"
            )
            if rows <= _PARTIAL_MAX_SHARE * total:
                con.execute(f"delete from {target} where {in_parts}")
                con.execute(f"insert into {target} select * from {source} where {in_parts}")
                how = "parts"
            elif _replace_changed_rows(con, source, target, columns, in_parts, total):
                how = "rows"
        if parts and how == "unchanged":
            con.execute(f"create or replace table {target} as select * from {source}")
            how = "rewritten"
        con.execute(forget)
        con.execute(
            f"insert into {_FINGERPRINTS} select ?, ?, ?, cast(part as varchar), n, h1, h2 from mp_publish_source",
            [schema, table, repr(columns)],
        )
        return how
    finally:
        con.execute("drop table if exists mp_publish_parts")
        con.execute("drop table if exists mp_publish_source")


def _replace_changed_rows(
    con: duckdb.DuckDBPyConnection,
    source: str,
    target: str,
    columns: list[tuple[str, str]],
    in_parts: str,
    total: int,
) -> bool:
    """Within the changed parts, replace only the rows that differ; False (nothing done) when
    more than ``_PARTIAL_MAX_SHARE`` of the table's rows would be written.

    For a table whose changed days hold most of its rows but few of them changed: fct_leads,
    where a day's CRM dumps move the latest state of ~27 k of 1.2 M leads across most creation
    days (national), so its days alone would rewrite the whole table. Rows are compared by a hash
    of all columns, counted per hash on each side: every hash whose count differs is deleted
    from the copy and inserted again from the warehouse, so duplicate rows and two rows sharing
    a hash stay right; a changed row whose new version hashes like its old one (a chance of the
    order of 2**-64, as for the fingerprints) would be missed."""
    row_hash = "hash(" + ", ".join(quote(name) for name, _type in columns) + ")"
    con.execute(
        "create or replace temp table mp_publish_rows as "
        "select h, count(*) filter (where side = 1) as n_new from ("
        f"select {row_hash} as h, 1 as side from {source} where {in_parts} union all "
        f"select {row_hash} as h, -1 as side from {target} where {in_parts}"
        ") group by h having count(*) filter (where side = 1) <> count(*) filter (where side = -1)"
    )
    try:
        (new_rows,) = con.execute("select coalesce(sum(n_new), 0) from mp_publish_rows").fetchone()
        if new_rows > _PARTIAL_MAX_SHARE * total:
            return False
        changed = f"{in_parts} and {row_hash} in (select h from mp_publish_rows)"
        con.execute(f"delete from {target} where {changed}")
        con.execute(f"insert into {target} select * from {source} where {changed}")
        return True
    finally:
        con.execute("drop table if exists mp_publish_rows")


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
