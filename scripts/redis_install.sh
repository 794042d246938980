#!/usr/bin/env bash
# Install redis-server (the Celery broker) when missing; as root only, like postgres_up.sh.
# Nothing is started here: the Celery stack starts its own password-protected Redis.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get install -y -q redis-server >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }
else
  echo "redis-server is not installed: sudo apt-get install redis-server" >&2; exit 1
fi
