"""One place for every path and setting Matrix Pulse uses.

``Settings`` reads the ``MP_*`` environment once, when it is built (``get_settings()``):
every option the project reads is a field here, with its type, default and description,
and no other module reads the environment. Paths derive from ``MP_HOME`` (default: the
repo's ``data/`` folder) so that a DAG, a test or the CLI never hard-codes a path. DuckDB
paths are absolute on purpose: Cosmos runs dbt in a temporary working directory, where a
relative path would silently write a throw-away database.

An instance is a snapshot: a process that changes the environment builds a new one.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
# The business runs on Beijing time: schedules, data dates and every timestamp the pipeline
# writes (``matrix_pulse.clock`` is the one clock built on it).
TIMEZONE = "Asia/Shanghai"


class Settings(BaseSettings):
    """Every option of Matrix Pulse, from ``MP_<FIELD>`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="MP_",
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
        validate_default=False,  # the path defaults are None until _derive_paths fills them from home
    )

    # --- where things live ------------------------------------------------------------
    home: Path = Field(REPO_ROOT / "data", description="Root of every file the pipeline reads or writes.")
    landing_dir: Path = Field(  # type: ignore[assignment]  # None: derived from home below
        None,
        description="Where the daily files land: <landing>/<source>/<file> (default <home>/landing).",
    )
    warehouse_path: Path = Field(  # type: ignore[assignment]
        None,
        validation_alias="MP_WAREHOUSE",
        description="The one DuckDB file the pipeline writes (default <home>/warehouse/matrix_pulse.duckdb).",
    )
    published_path: Path = Field(  # type: ignore[assignment]
        None,
        validation_alias="MP_PUBLISHED",
        description="Read-only copy for analysts and the report DAG, replaced atomically after each build "
        "(default <home>/published/matrix_pulse_marts.duckdb).",
    )
    audiences_file: Path = Field(
        REPO_ROOT / "config" / "audiences.yaml", description="Who receives which pack, and the quality gate."
    )
    font_cache: Path | None = Field(
        None,
        description="Where the subset CJK fonts are cached (default <XDG_CACHE_HOME>/matrix-pulse/fonts).",
    )
    xdg_cache_home: Path = Field(
        Path("~/.cache").expanduser(),
        validation_alias="XDG_CACHE_HOME",
        description="The user's cache folder (freedesktop convention), under which the font cache lives.",
    )

    # --- ingest -------------------------------------------------------------------------
    late_after_hours: int = Field(
        30, description="A source-day not landed this many hours after D+1 00:00 is reported late."
    )
    stable_seconds: float = Field(
        2.0, description="Seconds between the two looks at a landed file's size (tests keep it short)."
    )
    ingest_chunk_mb: float = Field(
        256.0, description="Landed megabytes per ingest chunk: bounds memory on a large backlog."
    )
    pii_hmac_key: SecretStr | None = Field(
        None,
        description="Key for hashing phones (HMAC-SHA256); else the Airflow Variable/Connection, "
        "else a local demo key file.",
    )
    airflow_ctx_dag_id: str | None = Field(
        None,
        validation_alias="AIRFLOW_CTX_DAG_ID",
        description="Set by Airflow inside a running task: only there may Variables and Connections be read.",
    )
    airflow_home: Path = Field(
        REPO_ROOT / "airflow_home",
        validation_alias="AIRFLOW_HOME",
        description="The Airflow home (scripts/env.sh sets it); the run helper finds the generated "
        "simple-auth-manager passwords there.",
    )

    # --- hostile input (issue 14): what one landed file may cost the reader worker ---------
    reader_memory_mb: int = Field(2048, ge=1, description="Address-space cap of the file-reader worker (MB).")
    reader_timeout_s: float = Field(300.0, gt=0, description="Wall time (seconds) one file may take to read.")
    reader_max_cells: int = Field(
        20_000_000, ge=1, description="Cells one sheet or JSON array may declare or hold."
    )
    reader_max_cell_chars: int = Field(32_767, ge=1, description="Characters in one cell (Excel's own cap).")
    reader_max_part_mb: int = Field(
        512, ge=1, description="Uncompressed size (MB) of one part of an xlsx zip."
    )
    reader_max_nesting: int = Field(64, ge=1, description="JSON nesting depth (arrays and objects).")
    data_date_past_days: int = Field(
        1100,
        ge=0,
        description="Oldest data date accepted, in days before today (three years: a backfill of the "
        "history behind QoQ/YoY, which the demo's five quarters need, still loads).",
    )
    data_date_future_days: int = Field(1, ge=0, description="Newest data date accepted, in days after today.")
    error_excerpt_chars: int = Field(
        32, ge=1, description="Longest excerpt of unknown content (a header, a cell) quoted in a message."
    )

    # --- pulling the exports (issue 12) ----------------------------------------------------
    pull_config_path: Path = Field(
        REPO_ROOT / "config" / "pull.yaml",
        validation_alias="MP_PULL_CONFIG",
        description="Which transport and Airflow connection each landing folder is pulled through.",
    )
    pull_since: dt.date | None = Field(
        None,
        description="First data date pulled; overrides defaults.since of the pull config (the demo sets "
        "it to the first simulated day).",
    )
    standin_appid: str | None = Field(
        None, description="App id the platform-API stand-in accepts (demo and tests only)."
    )
    standin_secret: SecretStr | None = Field(
        None, description="App secret the platform-API stand-in accepts (demo and tests only)."
    )
    standin_bilibili_token: SecretStr | None = Field(
        None, description="Bearer token the platform-API stand-in accepts for Bilibili (demo and tests only)."
    )
    standin_sftp_password: SecretStr | None = Field(
        None, description="Password of the SFTP stand-in's one user (demo and tests only)."
    )

    # --- DuckDB and dbt -------------------------------------------------------------------
    duckdb_memory_limit: str = Field(
        "2GB",
        description="DuckDB memory_limit for every writing connection and dbt. DuckDB's own default is "
        "80% of RAM, far above the 4 GB a step may use; past the limit it spills to <warehouse>.tmp. "
        "The limit covers DuckDB's buffers only, so it leaves room for Python and the file readers.",
    )
    duckdb_threads: int = Field(
        0,
        ge=0,
        description="DuckDB worker threads, for the ingest and dbt (0: one per CPU this process may use).",
    )
    # One model at a time: each DuckDB query already uses every core (duckdb_threads), and two
    # concurrent models share one memory_limit and spill. The national quarter's full build
    # (2026-12-07, bare, five alternating pairs): 2 threads 83.3 / 84.3 / 67.3 / 84.6 / 82.1 s,
    # 1 thread 75.7 / 75.1 / 69.4 / 74.9 / 74.3 s; in the last three pairs DuckDB spilled at most
    # 1.0-1.6 GB with two threads and 0.5 GB with one (README, Measured). The daily
    # build gives back ~3.5 s (29 -> 32.5 s: its many small nodes overlapped dbt's own Python with
    # DuckDB's work).
    dbt_threads: int = Field(
        1,
        ge=1,
        description="dbt models at a time: all share the one DuckDB instance and its memory_limit, and "
        "each query already uses every DuckDB thread, so more than one mostly adds spilling.",
    )
    warehouse_backend: Literal["duckdb", "postgres"] = Field(
        "duckdb",
        description="Where raw, meta and the marts live: the embedded DuckDB file (default) or the "
        "PostgreSQL database of the pg_* fields (scale-out: every worker may write, PostgreSQL's "
        "locks keep them correct; matrix_pulse.ingest.pg_warehouse).",
    )
    dbt_target: Literal["duckdb", "postgres"] = Field(
        "duckdb", description="The dbt target (profiles.yml); the postgres backend always builds on postgres."
    )
    dbt_schema_prefix: str = Field(
        "", description="Prefix of every dbt schema (tests on a shared PostgreSQL; unset in production)."
    )
    pg_host: str = Field("localhost", description="PostgreSQL host of the scale-out dbt target.")
    pg_port: int = Field(5432, description="PostgreSQL port of the scale-out dbt target.")
    pg_user: str = Field("matrix_pulse", description="PostgreSQL role of the scale-out dbt target.")
    pg_password: SecretStr = Field(
        SecretStr(""), description="PostgreSQL password of the scale-out dbt target."
    )
    pg_database: str = Field("matrix_pulse", description="PostgreSQL database of the scale-out dbt target.")
    pg_analyst_role: str = Field(
        "mp_analysts",
        description="PostgreSQL role (NOLOGIN group) granted SELECT on the marts schema only, for analysts "
        "on the postgres backend; grant it to each analyst's login.",
    )
    # --- scale-out on Celery (issue 13; matrix_pulse.ops.celery_stack) ---------------------
    redis_port: int = Field(
        6379, description="Loopback port of the Celery stack's Redis broker (`make celery`)."
    )
    worker_name: str | None = Field(
        None,
        description="Name a Celery worker records as the task hostname (set per worker by `make celery`; "
        "unset: the machine's name).",
    )

    # --- mail and report ---------------------------------------------------------------------
    alert_emails: str = Field(
        "",
        description="Data-team addresses for failure alerts and notices (comma, semicolon or space separated).",
    )
    gate_max_missing_rate: float | None = Field(
        None, description="Overrides the quality gate's max_missing_source_day_rate of the audiences file."
    )
    advice_file: Path = Field(
        REPO_ROOT / "config" / "advice.yaml", description="The pack's advice thresholds (one rule per key)."
    )
    bench_scale: Literal["demo", "national"] = Field("national", description="Default scale of `make bench`.")

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        # frozen: derived defaults are set once here, while the instance is being built
        home = self.home.resolve()
        derived = {
            "home": home,
            "landing_dir": Path(self.landing_dir or home / "landing"),
            "warehouse_path": Path(
                self.warehouse_path or home / "warehouse" / "matrix_pulse.duckdb"
            ).resolve(),
            "published_path": Path(
                self.published_path or home / "published" / "matrix_pulse_marts.duckdb"
            ).resolve(),
            "duckdb_threads": self.duckdb_threads or len(os.sched_getaffinity(0)),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)
        return self

    # --- derived paths ------------------------------------------------------------------
    @property
    def archive_dir(self) -> Path:
        """Every landed file, kept byte for byte as it arrived, by checksum."""
        return self.home / "archive"

    @property
    def manifest_path(self) -> Path:
        """The simulator's ground truth (only exists for simulated landings)."""
        return self.landing_dir / "_manifest.json"

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

    @property
    def dbt_build_manifest(self) -> Path:
        """The manifest of mp_transform's last fully passed `dbt build`, kept for the docs step."""
        return self.dbt_target_dir / "build" / "manifest.json"

    @property
    def outputs_dir(self) -> Path:
        """Rendered packs (archived per quarter and audience) and received .eml files."""
        return self.home / "outputs"

    @property
    def state_dir(self) -> Path:
        """Small ledgers that must survive re-runs (the send ledger)."""
        return self.home / "state"

    @property
    def hmac_key_file(self) -> Path:
        """Local key for the demo only; git-ignored. Production sets MP_PII_HMAC_KEY."""
        return self.home / "secrets" / "pii_hmac.key"

    @property
    def font_cache_dir(self) -> Path:
        return self.font_cache or self.xdg_cache_home / "matrix-pulse" / "fonts"

    @property
    def pull_ledger_path(self) -> Path:
        """The pull ledger (SQLite, beside the send ledger): one row per pull attempt. Not in the
        warehouse, so pulling never waits for the one-slot DuckDB writer pool."""
        return self.state_dir / "pull_ledger.sqlite"

    @property
    def pull_token_dir(self) -> Path:
        """API access tokens cached until they expire (mode 0600, git-ignored data folder)."""
        return self.home / "secrets" / "pull_tokens"

    @property
    def pull_responses_dir(self) -> Path:
        """Raw API responses of every pull attempt, beside the landing folders (the loader skips
        folders starting with '_')."""
        return self.landing_dir / "_api_responses"

    # --- derived behaviour ----------------------------------------------------------------
    @property
    def ingest_chunk_bytes(self) -> int:
        return int(self.ingest_chunk_mb * 1024 * 1024)

    def input_limits(self) -> InputLimits:
        """The hostile-input limits as one picklable value (the reader worker gets it per file)."""
        return InputLimits(
            reader_memory_mb=self.reader_memory_mb,
            reader_timeout_s=self.reader_timeout_s,
            reader_max_cells=self.reader_max_cells,
            reader_max_cell_chars=self.reader_max_cell_chars,
            reader_max_part_mb=self.reader_max_part_mb,
            reader_max_nesting=self.reader_max_nesting,
            data_date_past_days=self.data_date_past_days,
            data_date_future_days=self.data_date_future_days,
            error_excerpt_chars=self.error_excerpt_chars,
        )

    def duckdb_config(self) -> dict[str, str | int]:
        """The ``config`` for ``duckdb.connect`` (one place for every writing connection)."""
        return {"memory_limit": self.duckdb_memory_limit, "threads": self.duckdb_threads}

    def dbt_env(self, target: str | None = None) -> dict[str, str]:
        """What every dbt invocation gets for the duckdb output of profiles.yml (its values come from here).

        No secret goes in: Cosmos shows these as the task's rendered ``env``. The PostgreSQL
        output reads ``MP_PG_*`` from the inherited environment (the fields above document them).
        """
        return {
            "MP_WAREHOUSE": str(self.warehouse_path),
            "MP_DBT_TARGET": target or self.effective_dbt_target,
            "MP_DBT_SCHEMA_PREFIX": self.dbt_schema_prefix,
            "MP_PG_ANALYST_ROLE": self.pg_analyst_role,
            "MP_DBT_THREADS": str(self.dbt_threads),
            "MP_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "MP_DUCKDB_THREADS": str(self.duckdb_threads),
            # dbt otherwise sends usage events about every invocation to dbt Labs: nothing of a
            # run leaves the machine (and here, without a route out, each send only fails)
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            # no debug-level dbt.log (dbt's default): Cosmos writes it into the temporary project
            # copy it deletes after the task, and formatting it cost ~10% of a small build's CPU
            # (fixture build, 4 alternations: 21.7 -> 19.5 s user). Output on stdout is unchanged.
            "DBT_LOG_LEVEL_FILE": "none",
        }

    @property
    def effective_dbt_target(self) -> str:
        """dbt builds where the ingest loads: the postgres backend always on the postgres target."""
        return "postgres" if self.warehouse_backend == "postgres" else self.dbt_target

    def pg_dsn(self) -> str:
        """libpq connection string of the PostgreSQL warehouse (holds the password: never log it)."""
        return (
            f"host={self.pg_host} port={self.pg_port} user={self.pg_user} dbname={self.pg_database} "
            f"password={self.pg_password.get_secret_value()} connect_timeout=10 application_name=matrix_pulse"
        )

    def writer_task_args(self) -> dict[str, str]:
        """Pool and queue of a warehouse-writing task. DuckDB: the one-slot pool and the queue of the
        worker that owns the file. PostgreSQL: none, any worker may write (its transactions and
        advisory locks keep concurrent writers correct, matrix_pulse.ingest.pg_warehouse)."""
        if self.warehouse_backend == "postgres":
            return {}
        return {"pool": self.writer_pool, "queue": self.writer_queue}

    @property
    def writer_pool(self) -> str:
        """The one-slot Airflow pool every warehouse-writing task runs in."""
        return "duckdb_writer"

    @property
    def writer_queue(self) -> str:
        """The Celery queue of every warehouse-writing task: only the worker that owns the DuckDB
        file serves it, so the single-writer rule holds across machines (LocalExecutor ignores it)."""
        return "duckdb_writer"


@dataclass(frozen=True)
class InputLimits:
    """The hostile-input fields of ``Settings`` (described there), as the value the ingest hands
    to its reader worker process and compares to tell whether the worker must be restarted."""

    reader_memory_mb: int
    reader_timeout_s: float
    reader_max_cells: int
    reader_max_cell_chars: int
    reader_max_part_mb: int
    reader_max_nesting: int
    data_date_past_days: int
    data_date_future_days: int
    error_excerpt_chars: int


def get_settings() -> Settings:
    """Settings of this process's environment now; MP_HOME moves everything (tests use a temp folder)."""
    return Settings()


def process_environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """This process's whole environment plus ``overrides``: for a subprocess (dbt) that must inherit it."""
    return {**os.environ, **(overrides or {})}


if __name__ == "__main__":
    import shlex
    import sys

    # `python -m matrix_pulse.settings dbt-env`: export lines for running dbt by hand
    if sys.argv[1:] == ["dbt-env"]:
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in get_settings().dbt_env().items()))
    else:
        for name, info in Settings.model_fields.items():
            print(f"{name}: {info.description}")
