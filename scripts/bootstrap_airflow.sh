#!/usr/bin/env bash
# Initialise the embedded Airflow home (SQLite metadata DB, LocalExecutor) once; idempotent.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$AIRFLOW_HOME" "$MP_HOME"
stamp="$AIRFLOW_HOME/.bootstrapped"
if [ ! -f "$stamp" ] || [ "$REPO_ROOT/scripts/bootstrap_airflow.sh" -nt "$stamp" ]; then
  # `airflow db migrate`, then `airflow pools set duckdb_writer 1 ...`, in one Airflow process
  python -m matrix_pulse.ops.airflow_bootstrap >"$AIRFLOW_HOME/db_migrate.log" 2>&1 \
    || { tail -20 "$AIRFLOW_HOME/db_migrate.log"; exit 1; }
  touch "$stamp"
fi
