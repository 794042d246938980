#!/usr/bin/env bash
# The embedded Airflow 3 (`make airflow` / `make airflow-stop`): api-server, scheduler,
# dag-processor and triggerer on the SQLite metadata DB with the LocalExecutor, login required.
#
#   scripts/airflow_up.sh [start]   start in the background, wait until healthy, print URL and login
#   scripts/airflow_up.sh stop      stop every component (TERM, then KILL after 30 s); returns once
#                                   no process of their groups is left
#   scripts/airflow_up.sh status    which components run, and the URL
#
# Four processes rather than `airflow standalone`: standalone runs in the foreground only and
# mixes all logs into one stream; here each component has a pid file and a log under
# $AIRFLOW_HOME/run/, so `stop` and `status` work from any shell.
#
# Login: Airflow's simple auth manager, user `admin`; its password is generated once into
# $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated (git-ignored, mode 600).
# DAGs: every DAG in dags/ shows up paused (AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True in
# env.sh); unpause them in the UI (toggle) or with `airflow dags unpause <dag_id>`.
#
# Knobs: AIRFLOW_PORT (8080), AIRFLOW_HOST (127.0.0.1: the simple auth manager is for a
# developer machine, not a shared network), AIRFLOW_UP_TIMEOUT (seconds to wait, 180),
# AIRFLOW_STOP_TIMEOUT (seconds `stop` waits after TERM before it KILLs, 30),
# MP_AIRFLOW_DAGS_FOLDER (serve another DAG folder; the ops test uses it).
set -euo pipefail
source "$(dirname "$0")/env.sh"

PORT="${AIRFLOW_PORT:-8080}"
HOST="${AIRFLOW_HOST:-127.0.0.1}"
TIMEOUT="${AIRFLOW_UP_TIMEOUT:-180}"
STOP_TIMEOUT="${AIRFLOW_STOP_TIMEOUT:-30}"
RUN_DIR="$AIRFLOW_HOME/run"
COMPONENTS=(api-server scheduler dag-processor triggerer)
URL="http://localhost:$PORT"

export AIRFLOW__CORE__DAGS_FOLDER="${MP_AIRFLOW_DAGS_FOLDER:-$AIRFLOW__CORE__DAGS_FOLDER}"
# Two running tasks per core. Most of mp_transform's Cosmos consumer tasks (one per model and
# seed) is a process start and API round trips, which overlap: one slot per core left them in
# single file (a no-op demo transform, then with 112 consumers: 196 s at 2 slots, 136 s at 4,
# 2026-12-03). The CPU-bound pack builds (matplotlib, Chromium; all at once on 2 cores: ~125 s
# each instead of ~10 s) are held to one per core by build_pack itself
# (orchestration.CPU_BOUND_SLOTS), whatever this says.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-$(( 2 * $(nproc) ))}"
export AIRFLOW__API__HOST="$HOST"
export AIRFLOW__API__PORT="$PORT"
# base_url makes the UI's links, the alert e-mails' log links and the workers' execution API
# URL ({base_url}/execution/) all point at this port.
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-$URL}"
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=False
PASSWORD_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$PASSWORD_FILE"

is_running() {  # component -> 0 if its process group leader is alive
  local pid_file="$RUN_DIR/$1.pid"
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

print_login() {
  local user="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS%%:*}"
  echo "Airflow UI:  $URL   (user: $user)"
  echo "Password:    in $PASSWORD_FILE   (git-ignored; show it with: cat $PASSWORD_FILE)"
  echo "Matrix Pulse pages: $URL/matrix-pulse/  (also under Browse in the UI)"
  echo "DAGs start paused: unpause them in the UI or with: airflow dags unpause <dag_id>"
  echo "Logs: $RUN_DIR/<component>.log   Stop: make airflow-stop  (scripts/airflow_up.sh stop)"
}

group_alive() {  # process group -> 0 while any process of it is left (its workers included)
  pgrep -g "$1" >/dev/null 2>&1
}

groups_gone() {  # seconds group... -> 0 once none of the groups has a process left
  local tries=$(($1 * 2)) g alive
  shift
  for _ in $(seq "$tries"); do
    alive=0
    for g in "$@"; do group_alive "$g" && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  return 1
}

stop_all() {
  local any=0 comp pid groups=()
  for comp in "${COMPONENTS[@]}"; do
    [ -f "$RUN_DIR/$comp.pid" ] || continue
    pid="$(cat "$RUN_DIR/$comp.pid")"
    groups+=("$pid")
    if group_alive "$pid"; then
      # Each component was started with setsid: its pid is its process group, so TERM reaches
      # the uvicorn worker, the executor's workers and the parsing processes too.
      kill -TERM -- "-$pid" 2>/dev/null || true
      any=1
    fi
  done
  # Stopped means every process of every group is gone, not only the leaders: a worker left
  # behind keeps its port or its DuckDB file (the ops test checks each group).
  if [ "${#groups[@]}" -gt 0 ] && ! groups_gone "$STOP_TIMEOUT" "${groups[@]}"; then
    for comp in "${COMPONENTS[@]}"; do
      [ -f "$RUN_DIR/$comp.pid" ] || continue
      pid="$(cat "$RUN_DIR/$comp.pid")"
      if group_alive "$pid"; then
        echo "$comp did not stop within $STOP_TIMEOUT s: KILL" >&2
        kill -KILL -- "-$pid" 2>/dev/null || true
      fi
    done
    # a killed process is gone once the kernel has torn it down and it was reaped, not at once
    groups_gone 10 "${groups[@]}" || echo "processes of Airflow's groups ${groups[*]} outlived KILL" >&2
  fi
  for comp in "${COMPONENTS[@]}"; do rm -f "$RUN_DIR/$comp.pid"; done
  [ "$any" = 1 ] && echo "Airflow stopped." || echo "Airflow was not running."
}

status() {
  local comp
  for comp in "${COMPONENTS[@]}"; do
    if is_running "$comp"; then echo "$comp: running (pid $(cat "$RUN_DIR/$comp.pid"))"; else echo "$comp: stopped"; fi
  done
  echo "URL: $URL"
}

ensure_password_file() {
  # Generated here rather than by the api-server on first start: the api-server would print
  # the password into its log, and logs get copied around; the file is created private.
  [ -s "$PASSWORD_FILE" ] && return
  (umask 077; python - "$PASSWORD_FILE" "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS" <<'PY'
import json, secrets, sys
path, users = sys.argv[1], sys.argv[2]
names = [u.split(":")[0] for u in users.split(",") if u.strip()]
with open(path, "w") as fh:
    json.dump({name: secrets.token_urlsafe(16) for name in names}, fh)
    fh.write("\n")
PY
  )
}

start() {
  local comp
  for comp in "${COMPONENTS[@]}"; do
    if is_running "$comp"; then
      echo "Airflow is already running ($comp pid $(cat "$RUN_DIR/$comp.pid"))."
      print_login
      return 0
    fi
  done
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "Port $PORT is taken by another program: set AIRFLOW_PORT=<free port>." >&2
    exit 1
  fi
  "$REPO_ROOT/scripts/bootstrap_airflow.sh"
  # airflow.cfg holds the JWT secret the scheduler signs task tokens with and the api-server
  # checks them with. Four components started at once on a home without one would each
  # generate their own ("Invalid auth token" on every task), so have one process write it first.
  [ -f "$AIRFLOW_HOME/airflow.cfg" ] || airflow config get-value api_auth jwt_secret >/dev/null
  mkdir -p "$RUN_DIR"
  ensure_password_file
  local cmd
  for comp in "${COMPONENTS[@]}"; do
    # The dag-processor through our entry point: `airflow dag-processor` that skips re-parsing a
    # DAG file for the task success callbacks it would only log (include/matrix_pulse/ops/dag_processor.py).
    if [ "$comp" = dag-processor ]; then cmd=(python -m matrix_pulse.ops.dag_processor); else cmd=(airflow "$comp"); fi
    setsid "${cmd[@]}" >"$RUN_DIR/$comp.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$comp.pid"
  done
  echo "Starting Airflow on $URL (logs in $RUN_DIR) ..."
  local deadline=$((SECONDS + TIMEOUT)) health=""
  while [ $SECONDS -lt $deadline ]; do
    for comp in "${COMPONENTS[@]}"; do
      if ! is_running "$comp"; then
        echo "$comp exited during start-up; last lines of $RUN_DIR/$comp.log:" >&2
        tail -25 "$RUN_DIR/$comp.log" >&2
        stop_all >/dev/null
        exit 1
      fi
    done
    health="$(curl -sf "http://127.0.0.1:$PORT/api/v2/monitor/health" 2>/dev/null || true)"
    # Healthy once the api-server answers and the scheduler, dag-processor and triggerer heartbeat.
    if [ -n "$health" ] && [ "$(grep -o '"status":"healthy"' <<<"$health" | wc -l)" -ge 4 ]; then
      # The task execution API (Cadwyn) builds its versioned routes on its first request, and the
      # first task after every start waited for it in its PATCH .../run (2026-12-07, national:
      # the producer's "Pre Execute" 3.5-6.0 s in five first runs, 0.02 s later). Pay it here.
      curl -sf -o /dev/null "http://127.0.0.1:$PORT/execution/health" || true
      echo "Airflow is up."
      print_login
      return 0
    fi
    sleep 1
  done
  echo "Airflow did not become healthy within $TIMEOUT s (last health: ${health:-no answer})." >&2
  echo "Components are left running for inspection; see $RUN_DIR/*.log, stop with: $0 stop" >&2
  exit 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
