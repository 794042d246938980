#!/usr/bin/env bash
# Airflow on the CeleryExecutor, natively (`make celery` / `make celery-stop`): the processes of
# docker-compose.yaml without a container engine. PostgreSQL (metadata DB), Redis (broker),
# api-server, scheduler, dag-processor, triggerer and two Celery workers; the definition and the
# start/stop logic are in include/matrix_pulse/ops/celery_stack.py. This script only makes sure
# the servers are installed and the metadata database exists (needs root, like postgres_up.sh).
#
#   scripts/celery_up.sh [start|stop|status]
# Knobs: AIRFLOW_PORT (8080), MP_REDIS_PORT (6379), MP_PG_* (the role that owns the metadata DB).
set -euo pipefail
source "$(dirname "$0")/env.sh"
action="${1:-start}"
if [ "$action" = start ]; then
  "$REPO_ROOT/scripts/redis_install.sh"
  "$REPO_ROOT/scripts/postgres_up.sh"
  # postgres_up.sh may have generated the password: read it the way env.sh does.
  if [ -z "${MP_PG_PASSWORD:-}" ] && [ -s "$MP_HOME/secrets/pg_password" ]; then
    MP_PG_PASSWORD="$(cat "$MP_HOME/secrets/pg_password")"; export MP_PG_PASSWORD
  fi
  META_DB="${MP_PG_DATABASE}_airflow"
  su postgres -c "psql -qtAc \"select 1 from pg_database where datname='$META_DB'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"create database $META_DB owner $MP_PG_USER\""
fi
exec python -m matrix_pulse.ops.celery_stack "$action" "${AIRFLOW_PORT:-8080}"
