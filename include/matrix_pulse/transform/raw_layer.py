"""The raw layer as dbt sees it, derived from the source registry (``matrix_pulse.sources``).

``raw_columns`` turns a registry entry into the typed columns of ``raw.<raw_table>``
(the docstring of ``matrix_pulse.sources`` defines the kinds). It feeds the generated
``_<group>__sources.yml`` files and the test fixture warehouse, so dbt's source
declarations cannot drift from what the ingest writes.
"""

from __future__ import annotations

from pathlib import Path

from matrix_pulse.settings import REPO_ROOT
from matrix_pulse.sources import SOURCES, Source

# kind -> DuckDB type of the raw column(s)
KIND_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "count": "BIGINT",
    "count_lb": "BIGINT",
    "rate": "DOUBLE",
    "duration": "DOUBLE",
    "time": "TIMESTAMP",
    "date": "DATE",
    "money": "DOUBLE",
    "unix": "TIMESTAMP",
}

LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("data_date", "DATE", "The day the numbers cover (YYYYMMDD in the file name)."),
    ("source_file", "VARCHAR", "Name of the landed file the row came from."),
    ("file_sha256", "VARCHAR", "SHA-256 of the landed file, as archived."),
    ("source_row", "BIGINT", "1-based data row in the file (first row under the header is 1)."),
    ("loaded_at", "TIMESTAMP", "When the ingest loaded the row."),
)

# dbt source group (staging folder) for every registry source
STAGING_GROUP: dict[str, str] = {
    "douyin_posts": "douyin",
    "kuaishou_posts": "kuaishou",
    "xiaohongshu_notes": "xiaohongshu",
    "weibo_posts": "weibo",
    "bilibili_videos": "bilibili",
    "wechat_oa_articles": "wechat",
    "wechat_oa_users": "wechat",
    "wechat_channels_posts": "wechat",
    "wechat_channels_lives": "wechat",
    "live_sessions": "live",
    "crm_dcc": "crm",
    "crm_legacy": "crm",
    "matrix_roster": "reference",
    "dealers": "reference",
    "campaigns": "reference",
    "creator_costs": "reference",
}


def raw_columns(source: Source) -> list[tuple[str, str, str]]:
    """(column, DuckDB type, description) of ``raw.<source.raw_table>``, lineage columns last."""
    cols: list[tuple[str, str, str]] = []
    for c in source.columns:
        origin = f"Export column `{c.source_name}` ({c.kind})."
        if c.kind == "pii_drop":
            continue
        if c.kind == "phone":
            cols += [
                ("phone_hash", "VARCHAR", f"{origin} HMAC-SHA256 of the normalised number; NULL for junk."),
                ("phone_masked", "VARCHAR", f"{origin} Masked for display (138****5678)."),
                ("phone_is_valid", "BOOLEAN", f"{origin} FALSE when the value is not an 11-digit mobile."),
            ]
            continue
        cols.append((c.name, KIND_TYPES[c.kind], origin))
        if c.kind == "count_lb":
            cols.append((f"{c.name}_is_lower_bound", "BOOLEAN", f"TRUE when `{c.source_name}` read 10万+."))
    return cols + list(LINEAGE_COLUMNS)


def raw_ddl(source: Source, schema: str = "raw") -> str:
    body = ",\n  ".join(f"{name} {typ}" for name, typ, _ in raw_columns(source))
    return f"create table if not exists {schema}.{source.raw_table} (\n  {body}\n)"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sources_yml(group: str) -> str:
    """The `_<group>__sources.yml` text for one staging folder."""
    lines = [
        "# Generated from include/matrix_pulse/sources.py by",
        "#   python -m matrix_pulse.transform.raw_layer",
        "# Do not edit by hand: change the registry and regenerate.",
        "version: 2",
        "",
        "sources:",
        f"  - name: {group}",
        # MP_DBT_SCHEMA_PREFIX (empty in production) isolates a test build: see generate_schema_name
        "    schema: \"{{ env_var('MP_DBT_SCHEMA_PREFIX', '') }}raw\"",
        f"    description: Raw tables loaded by the ingest for the {group} source group (one delivery per source-day).",
        "    config:",
        "      loaded_at_field: loaded_at",
    ]
    reference = group == "reference"
    if reference:
        lines += ["      freshness: null  # reference data changes rarely; staleness is not an error"]
    else:
        lines += [
            "      freshness:",
            "        warn_after: {count: 30, period: hour}",
            "        error_after: {count: 72, period: hour}",
        ]
    lines += ["    tables:"]
    for name, src in SOURCES.items():
        if STAGING_GROUP[name] != group:
            continue
        desc = (
            f"`{src.fmt}` export `{src.file_glob}`, one row per data row of the final delivery. {src.notes}"
        )
        lines += [
            f"      - name: {src.raw_table}",
            f"        description: {_q(desc.strip())}",
            "        columns:",
        ]
        for col, _type, cdesc in raw_columns(src):
            lines += [f"          - name: {col}", f"            description: {_q(cdesc)}"]
            if col in ("data_date", "loaded_at", "source_file"):
                lines += ["            data_tests: [not_null]"]
    return "\n".join(lines) + "\n"


def write_sources_yml(models_dir: Path | None = None) -> list[Path]:
    models_dir = models_dir or REPO_ROOT / "dbt" / "models"
    written = []
    for group in sorted(set(STAGING_GROUP.values())):
        path = models_dir / "staging" / group / f"_{group}__sources.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sources_yml(group), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_sources_yml():
        print(p)
