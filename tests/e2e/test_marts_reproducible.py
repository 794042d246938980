"""Every table the analysts read comes out the same, to the bit, whenever it is built again.

After the session's demo run (tests/e2e/conftest.py): the SQL the last `dbt build` compiled for
each model published as a table (kept with its manifest for the docs step) is run twice more on
the demo's warehouse with four DuckDB threads, and each result must equal the published table
exactly. A float summed as a double would not (the threads add its terms in no fixed order):
mart_wecom_consultant_period's reply rates did that until they were summed as decimals, so a
rebuild of unchanged rows changed the numbers an analyst had already exported. Incremental
models are left out: their compiled SQL selects only what a build adds.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from matrix_pulse.settings import Settings
from matrix_pulse.transform.publish import PUBLISHED_SCHEMAS


@pytest.fixture(scope="module")
def compiled_tables(demo: dict) -> dict[str, str]:
    """``schema.table`` -> the SQL the demo's build compiled, for every published table model."""
    manifest = json.loads(Settings(home=demo["home"]).dbt_build_manifest.read_text(encoding="utf-8"))
    tables = {
        f"{n['schema']}.{n['alias'] or n['name']}": n["compiled_code"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["schema"] in PUBLISHED_SCHEMAS
        and n["config"]["materialized"] == "table"
    }
    assert len(tables) >= 20 and "marts.mart_wecom_consultant_period" in tables, sorted(tables)
    return tables


def test_every_published_table_is_the_same_when_computed_again(demo: dict, compiled_tables) -> None:
    warehouse = demo["home"] / "warehouse" / "matrix_pulse.duckdb"
    differing = {}
    with (
        duckdb.connect(str(warehouse), read_only=True) as con,
        duckdb.connect(str(demo["published"]), read_only=True) as published,
    ):
        con.execute("set threads = 4")  # parallel aggregation even on a two-core machine
        for table, sql in sorted(compiled_tables.items()):
            rows = published.execute(f"select * from {table} order by all").fetchall()
            assert rows, table
            for attempt in (1, 2):
                again = con.execute(f"select * from ({sql}) as computed order by all").fetchall()
                changed = sum(a != b for a, b in zip(again, rows, strict=False)) + abs(len(again) - len(rows))
                if changed:
                    differing[f"{table} (computed again, #{attempt})"] = f"{changed} of {len(rows)} rows"
    assert differing == {}, differing
