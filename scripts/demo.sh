#!/usr/bin/env bash
# make demo: simulate a quarter of exports, then run the project's real DAGs end to end
# as triggered runs on the embedded Airflow's scheduler (LocalExecutor, SQLite metadata DB), with a
# real local SMTP server receiving the packs. Safe to run again: loaded files are not loaded twice
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

free_port() { python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=("$SINK_PID")
if [ "${MP_DEMO_PULL:-1}" = 1 ]; then
  # Issue 12, the default: the simulator writes the platforms' and dealers' side; mp_ingest pulls
  # it through the HTTP API and SFTP stand-ins (docs/pulling.md) instead of finding it in landing.
  # MP_DEMO_PULL=0 skips the pull: the simulator writes straight into landing, as a hand-filled
  # folder would be (no pull connection is defined then, so every source is "not pulled").
  REMOTE="$MP_HOME/remote"
  step "2/5 simulate $START..$END on the remote side ($REMOTE), serve it over HTTP and SFTP"
  if [ ! -f "$REMOTE/simulated/_manifest.json" ]; then
    python -m matrix_pulse.simulator --scale demo --start "$START" --end "$END" --seed 7 --out "$REMOTE/simulated"
  fi
  mkdir -p "$LANDING" && cp "$REMOTE/simulated/_manifest.json" "$LANDING/_manifest.json"  # the ground truth
  CONNS="$MP_HOME/secrets/standin_connections.sh"; rm -f "$CONNS"
  # Free loopback ports unless pinned, so two demos (or a demo and the tests) never collide.
  python -m matrix_pulse.pull.standins --root "$REMOTE/served" --lay-out-from "$REMOTE/simulated" \
    --api-port "${MP_STANDIN_API_PORT:-$(free_port)}" --sftp-port "${MP_STANDIN_SFTP_PORT:-$(free_port)}" \
    --env-out "$CONNS" >"$LOGS/standins.log" 2>&1 &
  PIDS+=("$!")
  trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
  for _ in $(seq 300); do [ -s "$CONNS" ] && break; kill -0 "${PIDS[1]}" 2>/dev/null || break; sleep 0.2; done
  [ -s "$CONNS" ] || { echo "the pull stand-ins did not start:" >&2; tail -30 "$LOGS/standins.log" >&2; exit 1; }
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

# The DAGs run the way production runs them: triggered runs that the scheduler executes on the
# LocalExecutor (tasks talk to the api-server's execution API), so each task's log lands where
# the UI reads it and runs have real start times and durations. This Airflow is the demo's own
# (its tasks must see this shell's MP_HOME and SMTP port), so a `make airflow` on the same home
# must be stopped first. use_job_schedule=False: the scheduler starts only the runs the demo
# triggers, not the cron catch-up or asset-triggered runs that unpausing would otherwise add.
if "$REPO_ROOT/scripts/airflow_up.sh" status | grep -q ': running'; then
  echo "The embedded Airflow is running on $AIRFLOW_HOME: stop it first (make airflow-stop)." >&2
  exit 1
fi
AIRFLOW_PORT="${MP_DEMO_AIRFLOW_PORT:-$(free_port)}"
# The idle sleep (default 1 s) sits between the scheduling loops that start mp_transform's 56
# dbt consumer tasks; a quarter of it costs a busier scheduler for the few minutes of the demo only.
export AIRFLOW_PORT AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=0.25
AIRFLOW_URL="http://127.0.0.1:$AIRFLOW_PORT"
trap 'kill "${PIDS[@]}" 2>/dev/null || true; "$REPO_ROOT/scripts/airflow_up.sh" stop >/dev/null 2>&1 || true' EXIT
parsed_after=$(date +%s)
"$REPO_ROOT/scripts/airflow_up.sh" start >"$LOGS/airflow_up.log" 2>&1 || { tail -30 "$LOGS/airflow_up.log"; exit 1; }
echo "scheduler, api-server and dag-processor up in $(( $(date +%s) - parsed_after )) s (logs: $AIRFLOW_HOME/run/)"

run_dag() {  # run_dag DAG_ID LOGICAL_DATE|"" [CONF]
  local log="$LOGS/$1.log"
  local args=(--url "$AIRFLOW_URL" run "$1" --parsed-after "$parsed_after")
  [ -n "${3:-}" ] && args+=(--conf "$3")
  [ -n "$2" ] && args+=(--logical-date "$2")
  if python -m matrix_pulse.ops.airflow_runs "${args[@]}" >"$log" 2>&1; then
    echo "$(tail -1 "$log") (task logs: $AIRFLOW__LOGGING__BASE_LOG_FOLDER/dag_id=$1/)"
  else
    echo "$1: FAILED (log: $log)"; tail -60 "$log"; exit 1
  fi
}

step "3/5 mp_ingest: land, archive, parse, quarantine, GX checks"
# The 06:00 run on D+1 covers data date D: the run after the last simulated day.
run_dag mp_ingest "$(date -d "$END + 1 day" +%Y-%m-%d)T06:00:00+08:00"
step "4/5 mp_transform: dbt build (Cosmos), publish the analysts' read-only copy, dbt docs"
run_dag mp_transform ""
step "5/5 mp_report: quarterly review packs for $QUARTER, e-mailed once per recipient"
run_dag mp_report "" "{\"quarter\": \"$QUARTER\"}"
"$REPO_ROOT/scripts/airflow_up.sh" stop >/dev/null

python -m matrix_pulse.demo_summary --quarter "$QUARTER"
echo "demo finished in $(( $(date +%s) - t0 )) s"
