# Sourced by the Makefile and scripts: the embedded Airflow and Matrix Pulse settings.
# Everything lives inside the repo (git-ignored) so a clone is self-contained.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export PATH="$REPO_ROOT/.venv/bin:$PATH"
export MP_HOME="${MP_HOME:-$REPO_ROOT/data}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO_ROOT/airflow_home}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$REPO_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Shanghai
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__CORE__UNIT_TEST_MODE="${AIRFLOW__CORE__UNIT_TEST_MODE:-False}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}"
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$AIRFLOW_HOME/logs"
# Issue 14: what the pipeline writes (warehouse, published copy, airflow.db, logs, ledgers) is
# owner-only. Airflow chmods task logs itself (default 0o664), so its own settings are set too.
umask 077
export AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS=0o600
export AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS=0o700
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
# SMTP for alerts and packs: a local aiosmtpd in the demo and tests (see matrix_pulse.ops.smtp_sink).
export MP_SMTP_HOST="${MP_SMTP_HOST:-127.0.0.1}"
export MP_SMTP_PORT="${MP_SMTP_PORT:-8025}"
_mp_smtp_default="{\"conn_type\": \"smtp\", \"host\": \"$MP_SMTP_HOST\", \"port\": $MP_SMTP_PORT, \"extra\": {\"disable_tls\": true, \"disable_ssl\": true, \"from_email\": \"matrix-pulse@example.com\", \"timeout\": 10, \"retry_limit\": 1}}"
export AIRFLOW_CONN_SMTP_DEFAULT="${AIRFLOW_CONN_SMTP_DEFAULT:-$_mp_smtp_default}"
export MP_ALERT_EMAILS="${MP_ALERT_EMAILS:-data-team@example.com}"
# The scale-out warehouse (dbt target `postgres`); scripts/postgres_up.sh starts it.
export MP_PG_HOST="${MP_PG_HOST:-127.0.0.1}"
export MP_PG_PORT="${MP_PG_PORT:-5432}"
export MP_PG_USER="${MP_PG_USER:-matrix_pulse}"
export MP_PG_DATABASE="${MP_PG_DATABASE:-matrix_pulse}"
if [ -z "${MP_PG_PASSWORD:-}" ] && [ -s "$MP_HOME/secrets/pg_password" ]; then
  MP_PG_PASSWORD="$(cat "$MP_HOME/secrets/pg_password")"; export MP_PG_PASSWORD
fi
# Cosmos watcher mode: the producer's retries are off, so the per-push Variable copy that
# "reliable retry" keeps only costs time (255 s -> 81 s on the demo quarter). No telemetry calls.
export AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY=False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
# Cosmos keeps dbt's partial-parse state (and a manifest) between runs in its cache dir, by
# default <tmp>/cosmos, shared by every checkout on the machine, so a checkout whose dbt project
# differs starts from the other's parse and relies on dbt to notice every difference. Seen once
# (2026-12-05): an older checkout's build ran a newer one's data tests and failed on their missing
# macro; two later tries did not repeat it. One cache per Airflow home, inside the clone.
export AIRFLOW__COSMOS__CACHE_DIR="${AIRFLOW__COSMOS__CACHE_DIR:-$AIRFLOW_HOME/cosmos_cache}"
