#!/usr/bin/env bash
# Initialise the embedded Airflow home (SQLite metadata DB, LocalExecutor) once; idempotent.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$AIRFLOW_HOME" "$MP_HOME"
stamp="$AIRFLOW_HOME/.bootstrapped"
if [ ! -f "$stamp" ] || [ "$REPO_ROOT/scripts/bootstrap_airflow.sh" -nt "$stamp" ]; then
  airflow db migrate >"$AIRFLOW_HOME/db_migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/db_migrate.log"; exit 1; }
  airflow pools set duckdb_writer 1 "DuckDB has one writer per file: every warehouse-writing task runs in this pool" >/dev/null
  touch "$stamp"
fi
