"""The raw layer as dbt sees it, derived from the source registry (``matrix_pulse.sources``).

``matrix_pulse.sources.raw_columns`` turns a contract entry into the typed, described columns
of ``raw.<raw_table>`` (the docstring of ``matrix_pulse.sources`` defines the kinds). It
feeds the generated ``_<group>__sources.yml`` files and the test fixture warehouse, so dbt's
source declarations cannot drift from what the ingest writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from matrix_pulse.settings import REPO_ROOT
from matrix_pulse.sources import LINEAGE_COLUMNS, MATRIX_GROUPS, PLATFORM_LIST, SOURCES, Source, raw_columns

# dbt source group (staging folder) of every source, as the contract declares it
STAGING_GROUP: dict[str, str] = {name: src.staging_group for name, src in SOURCES.items()}


def raw_ddl(source: Source, schema: str = "raw") -> str:
    body = ",\n  ".join(f"{name} {typ}" for name, typ, _ in raw_columns(source))
    return f"create table if not exists {schema}.{source.raw_table} (\n  {body}\n)"


_HEADER = (
    "# Generated from include/matrix_pulse/sources.py by\n"
    "#   python -m matrix_pulse.transform.raw_layer\n"
    "# Do not edit by hand: change the contract and regenerate.\n"
)
# Reference data changes rarely: its staleness is not an error.
_FRESHNESS = {"warn_after": {"count": 30, "period": "hour"}, "error_after": {"count": 72, "period": "hour"}}


def sources_yml(group: str) -> str:
    """The `_<group>__sources.yml` text for one staging folder."""
    import yaml

    tables = []
    for name, src in SOURCES.items():
        if STAGING_GROUP[name] != group:
            continue
        desc = (
            f"`{src.fmt}` export `{src.file_glob}`, one row per data row of the final delivery. {src.notes}"
        )
        columns = [{"name": col.name, "description": col.description} for col in raw_columns(src)]
        # the lineage the ingest stamps on every row (LINEAGE_COLUMNS): one test for all five
        # (macros/test_not_null_columns.sql), so a row that cannot be traced to its file fails the build
        stamped = [col.name for col in LINEAGE_COLUMNS]
        tables.append({
            "name": src.raw_table,
            "description": desc.strip(),
            "data_tests": [{"not_null_columns": {"arguments": {"column_names": stamped}}}],
            "columns": columns,
        })  # fmt: skip
    document = {
        "version": 2,
        "sources": [
            {
                "name": group,
                # MP_DBT_SCHEMA_PREFIX (empty in production) isolates a test build: see generate_schema_name
                "schema": "{{ env_var('MP_DBT_SCHEMA_PREFIX', '') }}raw",
                "description": f"Raw tables loaded by the ingest for the {group} source group "
                "(one delivery per source-day).",
                "config": {
                    "loaded_at_field": "loaded_at",
                    "freshness": None if group == "reference" else _FRESHNESS,
                },
                "tables": tables,
            }
        ],
    }
    return _HEADER + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)


def platforms_seed_csv() -> str:
    """dbt/seeds/platforms.csv: one row per platform of the contract."""
    lines = ["platform,platform_name_cn,reports_impressions,counters_are_cumulative"]
    for p in PLATFORM_LIST:
        lines.append(
            f"{p.code},{p.name_cn},{str(p.reports_impressions).lower()},{str(p.counters_are_cumulative).lower()}"
        )
    return "\n".join(lines) + "\n"


def contract_macros_sql() -> str:
    """dbt/macros/contract.sql: the contract's platform names and tier groups as dbt macros."""
    aliases = {p.code: list(p.aliases) for p in PLATFORM_LIST}
    return (
        "{#- Generated from include/matrix_pulse/contract.py by python -m matrix_pulse.transform.raw_layer.\n"
        "    Do not edit by hand: change the contract and regenerate. -#}\n\n"
        "{#- platform code -> how exports and CRM channels write it (matched trimmed, lower-cased) -#}\n"
        "{% macro mp_platform_aliases() -%}\n"
        f"    {{{{ return({json.dumps(aliases, ensure_ascii=False)}) }}}}\n"
        "{%- endmacro %}\n\n"
        "{#- matrix tier -> matrix group -#}\n"
        "{% macro mp_matrix_groups() -%}\n"
        f"    {{{{ return({json.dumps(MATRIX_GROUPS, ensure_ascii=False)}) }}}}\n"
        "{%- endmacro %}\n"
    )


def generated_files(root: Path = REPO_ROOT) -> dict[Path, str]:
    """Every file made from the contract, with the text it must hold."""
    files = {
        root / "dbt" / "models" / "staging" / group / f"_{group}__sources.yml": sources_yml(group)
        for group in sorted(set(STAGING_GROUP.values()))
    }
    files[root / "dbt" / "seeds" / "platforms.csv"] = platforms_seed_csv()
    files[root / "dbt" / "macros" / "contract.sql"] = contract_macros_sql()
    return files


def write_generated(root: Path = REPO_ROOT) -> list[Path]:
    written = []
    for path, text in generated_files(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_generated():
        print(p)
