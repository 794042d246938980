#!/usr/bin/env bash
# Start the local PostgreSQL 15 (the scale-out warehouse target) and create the project's
# role and database; idempotent. Installs the server with apt when missing and run as root.
set -euo pipefail
PG_DB="${MP_PG_DATABASE:-matrix_pulse}"
PG_USER="${MP_PG_USER:-matrix_pulse}"
# No password in the repo: production sets MP_PG_PASSWORD; locally one is generated into a
# git-ignored file that the dbt profile and tests read (scripts/env.sh exports it).
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PW_FILE="${MP_HOME:-$REPO_ROOT/data}/secrets/pg_password"
if [ -z "${MP_PG_PASSWORD:-}" ]; then
  mkdir -p "$(dirname "$PW_FILE")"
  [ -s "$PW_FILE" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$PW_FILE")
  PG_PASSWORD=$(cat "$PW_FILE")
else
  PG_PASSWORD="$MP_PG_PASSWORD"
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }
  else
    echo "PostgreSQL is not installed: sudo apt-get install postgresql" >&2; exit 1
  fi
fi
ver=$(pg_lsclusters -h | awk 'NR==1{print $1}')
name=$(pg_lsclusters -h | awk 'NR==1{print $2}')
if [ -z "$ver" ]; then echo "no PostgreSQL cluster found (pg_lsclusters)" >&2; exit 1; fi
pg_lsclusters -h | awk 'NR==1{print $4}' | grep -q online || pg_ctlcluster "$ver" "$name" start
for _ in $(seq 30); do su postgres -c "pg_isready -q" && break; sleep 0.5; done
# CREATEROLE: dbt's on-run-start creates the analysts' NOLOGIN role (MP_PG_ANALYST_ROLE,
# dbt/macros/analyst_role.sql) when it is missing, as this user. Given here, by the superuser,
# never at run time. Where a DBA creates that role beforehand, the user needs no CREATEROLE.
if su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='$PG_USER'\"" | grep -q 1; then
  su postgres -c "psql -qc \"alter role $PG_USER createrole password '$PG_PASSWORD'\"" >/dev/null
else
  su postgres -c "psql -qc \"create role $PG_USER login createrole password '$PG_PASSWORD'\"" >/dev/null
fi
su postgres -c "psql -qtAc \"select 1 from pg_database where datname='$PG_DB'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"create database $PG_DB owner $PG_USER\""
echo "PostgreSQL ready: $PG_USER@127.0.0.1:5432/$PG_DB"
