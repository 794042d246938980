"""The published DuckDB copy of the marts when the warehouse is PostgreSQL (``MP_WAREHOUSE_BACKEND=postgres``).

Analysts and the report read one DuckDB file whatever the backend (``publish.py``), so the
PostgreSQL ``<prefix>marts`` and ``<prefix>meta`` schemas are copied into schemas ``marts``
and ``meta`` of a fresh file, swapped in with ``os.replace`` like the DuckDB publish.

Each table travels as CSV: PostgreSQL's ``COPY (SELECT ...) TO STDOUT`` (server-side
formatting, no Python per row) spooled to a file beside the published one, then read by
DuckDB's ``read_csv`` with every column's type given (no sniffing). CSV keeps NULL and the
empty string apart (NULL is an unquoted empty field, '' a quoted one, and
``allow_quoted_nulls=false`` keeps the quoted one ''). Arrays travel as JSON (``to_json``)
and become DuckDB lists, since PostgreSQL's ``{a,"b c"}`` array text has no DuckDB reader.

All tables are read in one REPEATABLE READ, READ ONLY transaction: the copy is one snapshot
even while the ingest writes ``meta`` (any worker may write on this backend).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from matrix_pulse.settings import TIMEZONE, Settings
from matrix_pulse.transform.publish_sync import quote, sql_literal

PUBLISHED_SCHEMAS = ("marts", "meta")
# DuckDB holds at most DECIMAL(38, s); a wider declared numeric goes to DOUBLE
_MAX_DECIMAL_PRECISION = 38

# PostgreSQL type (pg_type.typname) -> DuckDB type. Anything else travels as its text form
# into VARCHAR, which loses nothing (the report only reads the types below).
_SCALARS = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    # naive Beijing wall time, as every timestamp of the DuckDB warehouse (the COPY converts it)
    "timestamptz": "TIMESTAMP",
    "time": "TIME",
    "json": "JSON",
    "jsonb": "JSON",
    "text": "VARCHAR",
    "varchar": "VARCHAR",
    "bpchar": "VARCHAR",
    "name": "VARCHAR",
}


@dataclass(frozen=True)
class _Column:
    name: str
    typname: str  # pg_type.typname; for an array, its element's
    is_array: bool
    precision: int | None  # numeric(p, s) only
    scale: int | None

    @property
    def duckdb_type(self) -> str:
        if self.typname == "numeric":
            # unconstrained numeric (e.g. avg(), sum() of bigint) -> DOUBLE, as DuckDB's build
            # gives for the same expressions; a declared numeric(p, s) keeps its exact scale
            if (
                self.precision is not None
                and self.precision <= _MAX_DECIMAL_PRECISION
                and (self.scale or 0) >= 0
            ):
                base = f"DECIMAL({self.precision}, {self.scale or 0})"
            else:
                base = "DOUBLE"
        else:
            base = _SCALARS.get(self.typname, "VARCHAR")
        return base + "[]" if self.is_array else base

    @property
    def csv_type(self) -> str:
        """How the column is read from the CSV: lists and JSON as text, cast when inserted."""
        return "VARCHAR" if self.is_array or self.duckdb_type == "JSON" else self.duckdb_type

    def pg_select(self) -> str:
        ident = quote(self.name)
        if self.is_array:
            return f"to_json({ident})"
        if self.typname == "timestamptz":
            return f"({ident} at time zone {sql_literal(TIMEZONE)})"
        return ident

    def duckdb_select(self) -> str:
        ident = quote(self.name)
        if self.is_array:
            return f"cast(cast({ident} as JSON) as {self.duckdb_type})"
        return ident if self.csv_type == self.duckdb_type else f"cast({ident} as {self.duckdb_type})"


_COLUMNS_SQL = """
select c.relname, a.attname,
       case when t.typcategory = 'A' then e.typname else t.typname end,
       t.typcategory = 'A',
       information_schema._pg_numeric_precision(coalesce(e.oid, t.oid), a.atttypmod),
       information_schema._pg_numeric_scale(coalesce(e.oid, t.oid), a.atttypmod)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
join pg_catalog.pg_type t on t.oid = a.atttypid
left join pg_catalog.pg_type e on e.oid = t.typelem and t.typcategory = 'A'
where n.nspname = %s and c.relkind in ('r', 'p')
order by c.relname, a.attnum
"""


def _tables(cur, pg_schema: str) -> dict[str, list[_Column]]:
    """Tables of ``pg_schema`` (plain and partitioned, as the DuckDB publish copies tables) and their columns."""
    cur.execute(_COLUMNS_SQL, [pg_schema])
    tables: dict[str, list[_Column]] = {}
    for table, column, typname, is_array, precision, scale in cur.fetchall():
        tables.setdefault(table, []).append(_Column(column, typname, is_array, precision, scale))
    return tables


def _schema_exists(cur, pg_schema: str) -> bool:
    cur.execute("select 1 from pg_catalog.pg_namespace where nspname = %s", [pg_schema])
    return cur.fetchone() is not None


def publish_postgres_copy(
    settings: Settings, published: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS
) -> dict[str, int]:
    """Copy ``<prefix><schema>`` of the PostgreSQL warehouse into schema ``<schema>`` of a fresh
    DuckDB file and swap it in at ``published``. Returns rows per copied table (``schema.table``).

    The marts schema must exist (dbt built it); a missing meta schema (no ingest on this
    database yet) publishes an empty ``meta``, as a warehouse whose meta holds no table would.
    """
    import psycopg2

    published = Path(published)
    published.parent.mkdir(parents=True, exist_ok=True)
    tmp = published.with_name(f".{published.stem}.{uuid.uuid4().hex}.tmp.duckdb")
    copied: dict[str, int] = {}
    pg = psycopg2.connect(settings.pg_dsn())  # the DSN holds the password: never in a message
    try:
        pg.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with (
            pg.cursor() as cur,
            tempfile.TemporaryDirectory(dir=published.parent, prefix=".publish_") as spool,
        ):
            # the text forms read_csv parses: ISO dates, shortest exact floats (PostgreSQL >= 12)
            cur.execute("set local datestyle = 'ISO, YMD'; set local extra_float_digits = 1")
            cur.execute("set local timezone = " + sql_literal(TIMEZONE))
            sources = {}
            for schema in schemas:
                pg_schema = settings.dbt_schema_prefix + schema
                if schema == "marts" and not _schema_exists(cur, pg_schema):
                    raise LookupError(
                        f"schema {pg_schema} not found in PostgreSQL database {settings.pg_database}: "
                        "run the ingest and dbt first"
                    )
                sources[schema] = (pg_schema, _tables(cur, pg_schema))
            duck = duckdb.connect(str(tmp), config=settings.duckdb_config())
            try:
                # fully qualified: a schema named like the file's catalog (marts.duckdb) is ambiguous
                catalog = quote(duck.execute("select current_database()").fetchone()[0])
                for schema, (pg_schema, tables) in sources.items():
                    duck.execute(f"create schema if not exists {catalog}.{quote(schema)}")
                    for table, columns in tables.items():
                        csv = Path(spool) / f"{len(copied)}.csv"
                        with csv.open("wb") as out:
                            select = ", ".join(c.pg_select() for c in columns)
                            cur.copy_expert(
                                f"copy (select {select} from {quote(pg_schema)}.{quote(table)}) "
                                "to stdout with (format csv)",
                                out,
                            )
                        copied[f"{schema}.{table}"] = _load(
                            duck, f"{catalog}.{quote(schema)}.{quote(table)}", columns, csv
                        )
                        csv.unlink()
                duck.execute("checkpoint")
            finally:
                duck.close()
        pg.rollback()  # read only: nothing to commit
        os.replace(tmp, published)
    finally:
        pg.close()
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return copied


def _load(duck, name: str, columns: list[_Column], csv: Path) -> int:
    duck.execute(f"create table {name} ({', '.join(f'{quote(c.name)} {c.duckdb_type}' for c in columns)})")
    read_types = "{" + ", ".join(f"{sql_literal(c.name)}: {sql_literal(c.csv_type)}" for c in columns) + "}"
    duck.execute(
        f"insert into {name} select {', '.join(c.duckdb_select() for c in columns)} "
        f"from read_csv({sql_literal(str(csv))}, columns = {read_types}, header = false, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"', nullstr = '', allow_quoted_nulls = false)"
    )
    return duck.execute(f"select count(*) from {name}").fetchone()[0]


def pg_warehouse_columns(settings: Settings, layers: tuple[str, ...]) -> list[tuple]:
    """(schema, table, column, type) of every column in the ``<prefix><layer>`` schemas, for the
    docs fingerprint (``publish.docs_fingerprint``): what dbt's catalog shows of the warehouse."""
    import psycopg2

    pg = psycopg2.connect(settings.pg_dsn())
    try:
        with pg, pg.cursor() as cur:
            cur.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_schema = any(%s) order by 1, 2, ordinal_position",
                [[settings.dbt_schema_prefix + layer for layer in layers]],
            )
            return cur.fetchall()
    finally:
        pg.close()
