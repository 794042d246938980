# Matrix Pulse. The first two targets are all a new user needs:
#   make demo   set up (venv, fonts, Airflow home), simulate a quarter, run the real DAGs end to end
#   make test   set up, then the whole test suite and ruff
SHELL := /bin/bash
ENV := source scripts/env.sh &&
# The suite on three xdist workers (tests/conftest.py keeps shared fixtures on one worker): most
# of a test's time is waiting on Airflow, dbt or a browser, so three overlap well on two cores.
# The 25 slowest tests are listed at the end. `make test PYTEST_ARGS=-n0` runs serially.
PYTEST_ARGS ?= -n 3 --durations=25

.PHONY: demo test setup lock lint airflow airflow-stop celery celery-stop bench clean-data

demo: setup
	$(ENV) scripts/demo.sh

test: setup
	@scripts/postgres_up.sh || echo "[test] PostgreSQL not available: the postgres-target tests will skip (CI requires them)"
	@scripts/redis_install.sh || echo "[test] redis-server not available: the Celery tests will skip (CI requires them)"
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

# Airflow on the CeleryExecutor (PostgreSQL + Redis + two workers), see README "Scale-out".
celery: setup
	$(ENV) scripts/celery_up.sh start

celery-stop:
	$(ENV) scripts/celery_up.sh stop

bench: setup
	$(ENV) python -m matrix_pulse.bench $(BENCH_ARGS)

clean-data:
	rm -rf data airflow_home
