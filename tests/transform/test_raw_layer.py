"""dbt's source declarations are generated from the source registry and must stay in sync."""

from __future__ import annotations

import duckdb
from matrix_pulse.settings import REPO_ROOT
from matrix_pulse.sources import SOURCES
from matrix_pulse.transform.raw_layer import STAGING_GROUP, raw_columns, sources_yml


def test_every_source_has_a_staging_group():
    assert set(STAGING_GROUP) == set(SOURCES)


def test_sources_yml_files_match_the_registry():
    for group in sorted(set(STAGING_GROUP.values())):
        path = REPO_ROOT / "dbt" / "models" / "staging" / group / f"_{group}__sources.yml"
        assert path.read_text(encoding="utf-8") == sources_yml(group), (
            f"{path} is out of date: run `python -m matrix_pulse.transform.raw_layer`"
        )


def test_every_generated_contract_file_is_fresh():
    """Sources yml and the platforms seed are made from the contract; a hand edit or a contract
    change without regeneration fails here."""
    from matrix_pulse.transform.raw_layer import generated_files

    stale = [
        str(path.relative_to(REPO_ROOT))
        for path, text in generated_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"out of date: {stale}; run `python -m matrix_pulse.transform.raw_layer`"


def test_one_description_of_the_raw_columns():
    """The ingest's DDL and dbt's declarations come from the same contract columns."""
    from matrix_pulse.ingest.schema import raw_columns as ingest_columns

    for src in SOURCES.values():
        assert ingest_columns(src) == [(c.name, c.type) for c in raw_columns(src)], src.name


def test_every_raw_table_has_a_staging_model():
    staging = REPO_ROOT / "dbt" / "models" / "staging"
    sql = "\n".join(p.read_text(encoding="utf-8") for p in staging.rglob("stg_*.sql"))
    for name, src in SOURCES.items():
        assert f"source('{STAGING_GROUP[name]}', '{src.raw_table}')" in sql, name


def test_fixture_warehouse_has_every_registry_column(fixture_home):
    import os

    con = duckdb.connect(os.environ["MP_WAREHOUSE"], read_only=True)
    try:
        for src in SOURCES.values():
            got = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = 'raw' "
                    "and table_name = ? order by ordinal_position",
                    [src.raw_table],
                ).fetchall()
            ]
            assert got == [c for c, _, _ in raw_columns(src)], src.raw_table
    finally:
        con.close()


def test_every_post_source_feeds_the_content_union_and_its_increments():
    """The two hand lists a new post source must join (docs/interfaces.md, step 3): the union's
    inputs and `mp_content_sources`. Missing from the second, incremental runs would silently
    never pick up the source's days, and a first full build would not show it."""
    import re

    post_sources = {
        s.raw_table
        for s in SOURCES.values()
        if s.group == "content" and "post_id" in [c.name for c in raw_columns(s)]
    }
    macros = (REPO_ROOT / "dbt" / "macros" / "incremental.sql").read_text(encoding="utf-8")
    body = macros.split("macro mp_content_sources", 1)[1].split("include_wechat_oa -%}", 1)[0]
    assert set(re.findall(r"source\('\w+', '(\w+)'\)", body)) == post_sources
    union = (REPO_ROOT / "dbt" / "models" / "intermediate" / "int_content_snapshots_unioned.sql").read_text()
    inputs = set(re.findall(r"'(stg_\w+)': \[", union))
    assert len(inputs) == len(post_sources), (inputs, post_sources)
