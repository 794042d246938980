#!/usr/bin/env bash
# Everything a fresh machine needs, from the project's own files: the venv from the
# pinned lock, the package itself, the OS packages (CJK font) and the embedded Airflow.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
PY=${PYTHON:-python3.11}

# 1. venv from the lock (re-synced whenever requirements.txt changes)
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
if [ ! -f .venv/.synced ] || [ requirements.txt -nt .venv/.synced ] || [ pyproject.toml -nt .venv/.synced ]; then
  echo "[setup] installing the pinned lock (requirements.txt) into .venv"
  .venv/bin/python -m pip install -q "uv==$UV_VERSION"
  .venv/bin/uv pip sync --python .venv/bin/python --require-hashes -q requirements.txt
  .venv/bin/uv pip install --python .venv/bin/python --no-deps -q -e .
  # Byte-compile once: where PYTHONDONTWRITEBYTECODE is set, every process would otherwise
  # recompile pandas and Airflow from source (seconds per import).
  .venv/bin/python -m compileall -q -j 0 .venv/lib >/dev/null 2>&1 || true
  touch .venv/.synced
fi

# 2. OS packages: a CJK font so Chinese in charts and PDFs is not empty boxes; poppler for pdftoppm.
need_apt=()
fc-list :lang=zh 2>/dev/null | grep -qi "noto" || need_apt+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
# headless Chromium prints the pack's PDF, and the tests look at pages and mail with it as a
# reader would (Playwright drives Debian's build; Playwright's own browser download is never used)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] apt-get install ${need_apt[*]}"
    (apt-get install -y -q "${need_apt[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${need_apt[@]}" >/dev/null; }) \
      || echo "[setup] WARNING: could not install ${need_apt[*]}; run: sudo apt-get install ${need_apt[*]}"
    fc-cache -f >/dev/null 2>&1 || true
  else
    echo "[setup] WARNING: missing OS packages ${need_apt[*]}. Run: sudo apt-get install ${need_apt[*]}"
  fi
fi

# 3. the embedded Airflow home (SQLite metadata DB, LocalExecutor, the writer pool)
scripts/bootstrap_airflow.sh

# 4. the dbt manifest Cosmos renders the transform DAG from (dbt parse; a no-op when fresh),
#    built here so that parsing the DAG never runs dbt
(source scripts/env.sh && python -m matrix_pulse.transform.cosmos_config >/dev/null)
