#!/usr/bin/env bash
# make demo: simulate a quarter of exports, then run the project's real DAGs end to end
# with `airflow dags test` on the embedded Airflow (SQLite metadata DB), with a real local
# SMTP server receiving the packs. Safe to run again: loaded files are not loaded twice
# and packs already sent are not sent twice (the send ledger decides).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

QUARTER="${MP_DEMO_QUARTER:-2026Q3}"
START="${MP_DEMO_START:-2025-07-01}"  # the reported quarter and the four before it (QoQ, YoY)
END="${MP_DEMO_END:-2026-09-30}"
LANDING="$MP_HOME/landing"
MAILBOX="$MP_HOME/outputs/mailbox"
LOGS="$MP_HOME/demo_logs"
mkdir -p "$LOGS" "$MAILBOX"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
t0=$(date +%s)

step "1/5 local SMTP server (aiosmtpd) on $MP_SMTP_HOST:$MP_SMTP_PORT, saving to $MAILBOX"
python -m matrix_pulse.ops.smtp_sink --host "$MP_SMTP_HOST" --port "$MP_SMTP_PORT" --dir "$MAILBOX" \
  >"$LOGS/smtp_sink.log" 2>&1 &
SINK_PID=$!
trap 'kill $SINK_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo >/dev/tcp/"$MP_SMTP_HOST"/"$MP_SMTP_PORT") 2>/dev/null && break; sleep 0.2; done

if [ "${MP_DEMO_PULL:-0}" = 1 ]; then
  # Issue 12: the simulator writes the platforms' and dealers' side; mp_ingest pulls it through
  # the HTTP API and SFTP stand-ins (docs/pulling.md) instead of finding it in landing.
  REMOTE="$MP_HOME/remote"
  step "2/5 simulate $START..$END on the remote side ($REMOTE), serve it over HTTP and SFTP"
  if [ ! -f "$REMOTE/simulated/_manifest.json" ]; then
    python -m matrix_pulse.simulator --scale demo --start "$START" --end "$END" --seed 7 --out "$REMOTE/simulated"
  fi
  mkdir -p "$LANDING" && cp "$REMOTE/simulated/_manifest.json" "$LANDING/_manifest.json"  # the ground truth
  CONNS="$MP_HOME/secrets/standin_connections.sh"; rm -f "$CONNS"
  python -m matrix_pulse.pull.standins --root "$REMOTE/served" --lay-out-from "$REMOTE/simulated" \
    --api-port "${MP_STANDIN_API_PORT:-8306}" --sftp-port "${MP_STANDIN_SFTP_PORT:-8307}" --env-out "$CONNS" \
    >"$LOGS/standins.log" 2>&1 &
  STANDINS_PID=$!
  trap 'kill $SINK_PID $STANDINS_PID 2>/dev/null || true' EXIT
  for _ in $(seq 100); do [ -s "$CONNS" ] && break; sleep 0.2; done
  # shellcheck disable=SC1090
  source "$CONNS"
  export MP_PULL_SINCE="$START"
else
step "2/5 simulate five quarters of exports $START..$END (reporting $QUARTER) into $LANDING"
if [ -f "$LANDING/_manifest.json" ]; then
  echo "landing already simulated (delete $LANDING to regenerate)"
else
  python -m matrix_pulse.simulator --scale demo --start "$START" --end "$END" --seed 7 --out "$LANDING"
fi
fi

run_dag() {  # run_dag DAG_ID LOGICAL_DATE [CONF]
  local log="$LOGS/$1.log"
  local args=(dags test "$1" "$2")
  [ -n "${3:-}" ] && args+=(-c "$3")
  local s; s=$(date +%s)
  if airflow "${args[@]}" >"$log" 2>&1; then
    echo "$1: success in $(( $(date +%s) - s )) s (log: $log)"
  else
    echo "$1: FAILED (log: $log)"; tail -40 "$log"; exit 1
  fi
}

step "3/5 mp_ingest: land, archive, parse, quarantine, GX checks"
run_dag mp_ingest "$(date -d "$END + 1 day" +%Y-%m-%d)"
step "4/5 mp_transform: dbt build (Cosmos), publish the analysts' read-only copy, dbt docs"
run_dag mp_transform "$(date -d "$END + 1 day" +%Y-%m-%d)"
step "5/5 mp_report: quarterly review packs for $QUARTER, e-mailed once per recipient"
run_dag mp_report "$(date -d "$END + 5 days" +%Y-%m-%d)" "{\"quarter\": \"$QUARTER\"}"

python -m matrix_pulse.demo_summary --quarter "$QUARTER"
echo "demo finished in $(( $(date +%s) - t0 )) s"
