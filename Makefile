# Matrix Pulse. The first two targets are all a new user needs:
#   make demo   set up (venv, fonts, Airflow home), simulate a quarter, run the real DAGs end to end
#   make test   set up, then the whole test suite and ruff
SHELL := /bin/bash
ENV := source scripts/env.sh &&

.PHONY: demo test setup lock lint airflow airflow-stop bench clean-data

demo: setup
	$(ENV) scripts/demo.sh

test: setup
	@scripts/postgres_up.sh || echo "[test] PostgreSQL not available: the postgres-target tests will skip (CI requires them)"
	$(ENV) ruff check . && ruff format --check include dags plugins tests
	$(ENV) python -m pytest $(PYTEST_ARGS)

setup:
	@scripts/setup.sh

# Recompile the pinned lock from requirements.in (needs the registries).
lock:
	$(ENV) uv pip compile requirements.in -o requirements.txt --python-version 3.11 --generate-hashes --no-header

lint: setup
	$(ENV) ruff check . && ruff format --check include dags plugins tests

airflow: setup
	$(ENV) scripts/airflow_up.sh

airflow-stop:
	$(ENV) scripts/airflow_up.sh stop

bench: setup
	$(ENV) python -m matrix_pulse.bench $(BENCH_ARGS)

clean-data:
	rm -rf data airflow_home
