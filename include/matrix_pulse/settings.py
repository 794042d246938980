"""One place for every path and setting Matrix Pulse uses.

Everything is derived from ``MP_HOME`` (default: the repo's ``data/`` folder) so that a
DAG, a test or the CLI never hard-codes a path. DuckDB paths are absolute on purpose:
Cosmos runs dbt in a temporary working directory, where a relative path would silently
write a throw-away database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Settings:
    home: Path

    # --- inputs -------------------------------------------------------------------
    @property
    def landing_dir(self) -> Path:
        """Where the daily files land: <landing>/<source>/<file>."""
        return Path(os.environ.get("MP_LANDING_DIR", self.home / "landing"))

    @property
    def archive_dir(self) -> Path:
        """Every landed file, kept byte for byte as it arrived, by checksum."""
        return self.home / "archive"

    @property
    def manifest_path(self) -> Path:
        """The simulator's ground truth (only exists for simulated landings)."""
        return self.landing_dir / "_manifest.json"

    # --- warehouse ------------------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        """The one DuckDB file the pipeline writes (one writer at a time: pool below)."""
        return Path(os.environ.get("MP_WAREHOUSE", self.home / "warehouse" / "matrix_pulse.duckdb")).resolve()

    @property
    def published_path(self) -> Path:
        """Read-only copy for analysts and the report DAG, replaced atomically after each build."""
        return Path(
            os.environ.get("MP_PUBLISHED", self.home / "published" / "matrix_pulse_marts.duckdb")
        ).resolve()

    @property
    def gx_dir(self) -> Path:
        """Great Expectations file context: suites, validation results, Data Docs."""
        return self.home / "gx"

    @property
    def gx_data_docs_dir(self) -> Path:
        """Where GX renders Data Docs (a file context at gx_dir keeps its project in gx_dir/gx)."""
        return self.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site"

    @property
    def dbt_project_dir(self) -> Path:
        return REPO_ROOT / "dbt"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt_target"

    @property
    def dbt_docs_dir(self) -> Path:
        """`dbt docs generate` output after each build (index.html, manifest, catalog)."""
        return self.dbt_target_dir / "docs"

    # --- outputs --------------------------------------------------------------------
    @property
    def outputs_dir(self) -> Path:
        """Rendered packs (archived per quarter and audience) and received .eml files."""
        return self.home / "outputs"

    @property
    def state_dir(self) -> Path:
        """Small ledgers that must survive re-runs (the send ledger)."""
        return self.home / "state"

    # --- secrets ----------------------------------------------------------------------
    @property
    def hmac_key_file(self) -> Path:
        """Local key for the demo only; git-ignored. Production sets MP_PII_HMAC_KEY."""
        return self.home / "secrets" / "pii_hmac.key"

    # --- behaviour ----------------------------------------------------------------------
    @property
    def late_after_hours(self) -> int:
        """A source-day not landed this many hours after D+1 00:00 is reported late."""
        return int(os.environ.get("MP_LATE_AFTER_HOURS", "30"))

    @property
    def duckdb_memory_limit(self) -> str:
        """DuckDB's memory_limit for the pipeline's writing connections (MP_DUCKDB_MEMORY_LIMIT).

        DuckDB's own default is 80% of RAM, far above the 4 GB a step may use; past the
        limit it spills to disk (``<warehouse>.tmp``) instead of growing. The limit covers
        DuckDB's buffers only, so it leaves room for Python and the file readers.
        """
        return os.environ.get("MP_DUCKDB_MEMORY_LIMIT", "2GB")

    @property
    def duckdb_threads(self) -> int:
        """DuckDB worker threads (MP_DUCKDB_THREADS; default one per CPU this process may use)."""
        return int(os.environ.get("MP_DUCKDB_THREADS", 0)) or len(os.sched_getaffinity(0))

    def duckdb_config(self) -> dict[str, str | int]:
        """The ``config`` for ``duckdb.connect`` (one place for every writing connection)."""
        return {"memory_limit": self.duckdb_memory_limit, "threads": self.duckdb_threads}

    @property
    def writer_pool(self) -> str:
        """The one-slot Airflow pool every warehouse-writing task runs in."""
        return "duckdb_writer"


def get_settings() -> Settings:
    """Settings for this process; MP_HOME moves everything (tests use a temp folder)."""
    return Settings(home=Path(os.environ.get("MP_HOME", REPO_ROOT / "data")).resolve())


# --- pulling the exports (issue 12; H6's block, to be ported into Settings) -----------------
def pull_config_path() -> Path:
    """Which transport and Airflow connection each landing folder is pulled through."""
    return Path(os.environ.get("MP_PULL_CONFIG", REPO_ROOT / "config" / "pull.yaml"))


def pull_ledger_path(settings: Settings) -> Path:
    """The pull ledger (SQLite, beside the send ledger): one row per pull attempt. Not in the
    warehouse, so pulling never waits for the one-slot DuckDB writer pool."""
    return settings.state_dir / "pull_ledger.sqlite"


def pull_token_dir(settings: Settings) -> Path:
    """API access tokens cached until they expire (mode 0600, git-ignored data folder)."""
    return settings.home / "secrets" / "pull_tokens"


def pull_responses_dir(settings: Settings) -> Path:
    """Raw API responses of every pull attempt, beside the landing folders (the loader skips
    folders starting with '_')."""
    return settings.landing_dir / "_api_responses"


# === H5 (issue 14): hostile-input limits ========================================================
# One block, read from the environment, so it ports as-is into the pydantic-settings object.
# name: type = default (env var): description
#   reader_memory_mb: int = 2048 (MP_READER_MEMORY_MB): address-space cap of the file-reader worker
#   reader_timeout_s: float = 300 (MP_READER_TIMEOUT_S): wall time one file may take to read
#   reader_max_cells: int = 20_000_000 (MP_READER_MAX_CELLS): cells one sheet/array may declare or hold
#   reader_max_cell_chars: int = 32_767 (MP_READER_MAX_CELL_CHARS): characters in one cell (Excel's own cap)
#   reader_max_part_mb: int = 512 (MP_READER_MAX_PART_MB): uncompressed size of one part of an xlsx zip
#   reader_max_nesting: int = 64 (MP_READER_MAX_NESTING): JSON nesting depth (arrays and objects)
#   data_date_past_days: int = 1100 (MP_DATA_DATE_PAST_DAYS): oldest data date accepted, days before today
#     (three years: a backfill of the history behind QoQ/YoY, which the demo's five quarters need, still loads)
#   data_date_future_days: int = 1 (MP_DATA_DATE_FUTURE_DAYS): newest data date accepted, days after today
#   error_excerpt_chars: int = 32 (MP_ERROR_EXCERPT_CHARS): longest excerpt of unknown content in a message


@dataclass(frozen=True)
class InputLimits:
    reader_memory_mb: int = 2048
    reader_timeout_s: float = 300.0
    reader_max_cells: int = 20_000_000
    reader_max_cell_chars: int = 32_767
    reader_max_part_mb: int = 512
    reader_max_nesting: int = 64
    data_date_past_days: int = 1100
    data_date_future_days: int = 1
    error_excerpt_chars: int = 32


def input_limits() -> InputLimits:
    """The hostile-input limits for this process (each overridable by its MP_* variable)."""
    from dataclasses import fields

    values = {}
    for f in fields(InputLimits):
        raw = os.environ.get(f"MP_{f.name.upper()}")
        if raw is not None:
            values[f.name] = float(raw) if f.type == "float" else int(raw)
    return InputLimits(**values)
