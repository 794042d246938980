"""How the transform DAG runs the dbt project through astronomer-cosmos.

One place for the Cosmos configuration, so the DAG file stays thin:

- ``ExecutionMode.WATCHER``: ONE producer task runs a single ``dbt build`` of the whole
  project (seeds, models, data and unit tests, dbt's own threads). ONE consumer sensor per
  model and per seed (``<model>_run``, ``<seed>_seed``; ``matrix_pulse.transform.watcher``)
  reads that node's result and then the aggregate of its data tests from the producer's XComs,
  so every model stays visible in the Airflow UI and its task fails when the model or one of
  its tests failed, while dbt pays its start-up and parse cost once instead of once per node.
  Cosmos' own rendering (``TestBehavior.AFTER_EACH``) adds a ``<model>.test`` sensor beside
  each tested model's ``<model>.run``: 116 tasks instead of 60, and each is a task process
  (below). ``TestBehavior`` stays ``AFTER_EACH`` because ``NONE`` and ``AFTER_ALL`` take the
  tests out of the producer's build; ``BUILD`` Cosmos refuses in watcher mode; a
  ``node_converter`` renders the one task per node. ``wire_consumers_beside_producer``
  lets every consumer start with the build (``always``): each reports as soon as the build has
  decided its node and its tests, not level by level after its parents' consumers; publishing
  waits for all of them, and a rebuild waits for its parents' tasks (see there).
- The producer runs dbt as a subprocess (``InvocationMode.SUBPROCESS``): Cosmos then reads
  dbt's JSON log lines, one XCom per finished node, while dbt keeps running. With dbtRunner
  Cosmos pushes an XCom for every node event from inside dbt's threads, which made the same
  build twice as slow, and the in-process dbt would keep the warehouse open in the worker.
- A failed model, or a failed data test of it, fails the model's task; the tasks of the models
  built from it end skipped (dbt skipped those), and publishing, which waits for every
  consumer, does not run: the DAG run fails. A
  data test counts for the model it is declared on (``consumer_graph.count_tests_where_declared``;
  Cosmos counts a relationships test for both models it joins), and dbt skips it when the
  model it refers to failed, which fails the declaring model's task too. The
  producer never retries (Cosmos would skip the retry anyway); a consumer's retry, or a clear
  in the UI, runs ``dbt build --select <node>``: the node and its tests (Cosmos' own fallback
  would run only ``dbt run``, and a retry would turn a failed test green).
- Only the producer holds the one-slot writer pool (``setup_operator_args``); the consumers run
  in Airflow's default pool, side by side. A consumer's normal path reads the producer's XComs
  and never opens the warehouse; a retry waits for the build to end. Under the real scheduler
  each consumer starts in the triggerer (``watcher``); as a task process, parsing this DAG and
  making a few API calls, the
  112 of the ``.run``/``.test`` pairs took 196 s at two executor slots and 136 s at four, each
  after a no-op build (demo, 2026-12-03), so scripts/airflow_up.sh gives two slots per core.
  One consumer per node: 56 of them took 69 and 64 s against 149 and 135 s for the 112,
  back to back at four slots (demo, no-op build, load 6-8, 2026-12-03 22:15-22:30). DuckDB's single writer still
  holds: its file lock refuses a second writing process (and a read-only connection) while one
  writes, so a consumer's fallback dbt run that meets another writer fails with DuckDB's lock
  error and its retry, after the back-off, runs again.
- Environment (scripts/env.sh): ``AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY=False``.
  Its default re-writes a compressed copy of ALL the producer's XComs to an Airflow Variable
  on every push (quadratic; tripled the build time here) so that a producer retry could
  restore them; our producer does not retry, and the copy is still written when it fails.
- ``LoadMode.DBT_MANIFEST``: the DAG is rendered from ``dbt/target/manifest.json`` without
  running dbt at parse time. ``ensure_manifest()`` (re)builds it with ``dbt parse`` when it is
  missing or older than any file of the dbt project; set-up and CI call
  ``python -m matrix_pulse.transform.cosmos_config``. DAG parsing never runs dbt: a missing
  manifest is an import error naming that command, a stale one a warning.
- OpenLineage: Cosmos turns dbt's artifacts into OpenLineage events after every dbt
  invocation whenever ``openlineage-integration-common`` is importable; no setting turns that
  off (``AIRFLOW__OPENLINEAGE__DISABLED`` governs only the provider, which we do not install).
  In watcher mode that is once per run (about 2 s), not once per model.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from matrix_pulse.settings import get_settings, process_environment

logger = logging.getLogger(__name__)

DBT_PROJECT_DIR = get_settings().dbt_project_dir
PROFILES_YML = DBT_PROJECT_DIR / "profiles.yml"
PROFILE_NAME = "matrix_pulse"
DBT_EXECUTABLE = Path(sys.prefix) / "bin" / "dbt"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# how often a consumer's trigger asks for its node's verdict while the build runs (Cosmos: 10 s).
# Demo, no-op build under the scheduler: the last consumer 18.1 / 13.8 / 10.7 s after the build at
# 10 / 2 / 1 s, the build itself 25.2 / 25.7 / 30.3 s (2026-12-05, one run each)
CONSUMER_POKE_S = 2.0
# What the DAG's build (and a consumer's retry) adds to `dbt build`: no unit tests. Their inputs
# are static, so a daily build would prove the same SQL logic again every day; dbt Labs advises
# running them in development and CI only. `make test` builds with them
# (tests/transform/test_dbt_build*.py, on DuckDB and PostgreSQL), and so does `dbt build` by hand.
# Demo warehouse, no-op build, three alternating pairs (2026-12-06): dbt's CPU 18.7 -> 17.3 s,
# its elapsed 12.5 -> 11.5 s (6 unit tests of 264 nodes).
PRODUCTION_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "snapshots", "tests")


def dbt_env(target: str | None = None) -> dict[str, str]:
    """Environment dbt needs: the absolute warehouse path, target and DuckDB limits from settings."""
    return get_settings().dbt_env(target)


def project_files() -> list[Path]:
    """Every file of the dbt project that dbt reads (what the manifest and the docs derive from)."""
    files: list[Path] = []
    for name in _PROJECT_INPUTS:
        path = DBT_PROJECT_DIR / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(f for f in path.rglob("*") if f.is_file()))
    return files


def _newest_project_mtime() -> float:
    return max((f.stat().st_mtime for f in project_files()), default=0.0)


def manifest_is_stale(manifest: Path = MANIFEST_PATH) -> bool:
    return not manifest.exists() or manifest.stat().st_mtime < _newest_project_mtime()


def ensure_manifest(manifest: Path = MANIFEST_PATH) -> Path:
    """Build the manifest Cosmos renders the DAG from when it is missing or stale.

    ``dbt parse`` runs under a lock in a persistent folder (``dbt/target/parse``, so partial
    parsing keeps a re-parse to seconds) and the manifest is moved into place with
    ``os.replace``: a scheduler parsing the DAG meanwhile never reads half a file.
    """
    if not manifest_is_stale(manifest):
        return manifest
    parse_dir = manifest.parent / "parse"
    parse_dir.mkdir(parents=True, exist_ok=True)
    with open(parse_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_stale(manifest):  # another process rebuilt it while we waited
            return manifest
        cmd = [
            str(DBT_EXECUTABLE),
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(parse_dir),
            "--log-path",
            str(parse_dir),
            "--quiet",
        ]
        # parsing never opens the warehouse; a fixed path keeps dbt's partial parsing valid
        env = process_environment({**dbt_env(), "MP_WAREHOUSE": "/tmp/matrix_pulse_parse_only.duckdb"})
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"dbt parse of {DBT_PROJECT_DIR} failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        staged = manifest.with_name(f".manifest.{os.getpid()}.json")
        shutil.copyfile(parse_dir / "manifest.json", staged)
        os.replace(staged, manifest)
    return manifest


def _manifest_for_rendering(manifest: Path = MANIFEST_PATH) -> Path:
    """The manifest the DAG is rendered from, as set-up left it: parsing the DAG never runs dbt."""
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest} is missing: run `python -m matrix_pulse.transform.cosmos_config` "
            "(scripts/setup.sh does) to build it with dbt parse"
        )
    if manifest_is_stale(manifest):
        logger.warning(
            "%s is older than the dbt project: the DAG shows the previous set of models until "
            "`python -m matrix_pulse.transform.cosmos_config` rebuilds it",
            manifest,
        )
    return manifest


def dbt_task_group_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``cosmos.DbtTaskGroup`` running the Matrix Pulse project."""
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig
    from cosmos.constants import ExecutionMode, InvocationMode

    return {
        "project_config": ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=_manifest_for_rendering(),
            install_dbt_deps=False,  # no packages.yml: nothing to install
            env_vars=dbt_env(),
        ),
        "profile_config": ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=get_settings().effective_dbt_target,
            profiles_yml_filepath=PROFILES_YML,
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(DBT_EXECUTABLE),
            # the producer's retry would only be skipped by Cosmos: a failed build is reported
            # by the consumers, whose own retries re-run dbt for their node
            setup_operator_args={
                "retries": 0,
                # the build compiles every node: its manifest spares the docs step a second compile
                "callback": "matrix_pulse.transform.publish.keep_build_manifest",
                **get_settings().writer_task_args(),
            },
        ),
        "render_config": _render_config(),
        # no pool here: the consumer sensors only read XComs (see the module docstring). The
        # writer queue stays: a consumer's fallback dbt run writes, so on Celery it must run on
        # the worker that owns the DuckDB file (on the PostgreSQL backend any worker).
        "operator_args": {
            "append_env": True,
            "poke_interval": CONSUMER_POKE_S,
            "dbt_cmd_flags": list(PRODUCTION_BUILD_FLAGS),  # the producer's build and the retries'
            **{k: v for k, v in get_settings().writer_task_args().items() if k == "queue"},
        },
    }


def _render_config() -> Any:
    from cosmos import RenderConfig
    from cosmos.constants import DbtResourceType, LoadMode, TestBehavior

    from matrix_pulse.transform.consumer_graph import node_converter

    render_config = RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        # AFTER_EACH keeps the data tests in the producer's `dbt build` (NONE and AFTER_ALL
        # exclude them from it); the converter renders each model and seed as ONE consumer that
        # also reports its tests, instead of Cosmos' `<model>.run` + `<model>.test` pair
        test_behavior=TestBehavior.AFTER_EACH,
        emit_datasets=False,  # the publish task emits the marts Assets once, after the last model
    )

    def one_task_per_node(**kwargs: Any) -> Any:  # Cosmos passes only some of render_config's fields
        return node_converter(render_config=render_config, **kwargs)

    render_config.node_converters = {
        DbtResourceType.MODEL: one_task_per_node,
        DbtResourceType.SEED: one_task_per_node,
    }
    return render_config


def wire_consumers_beside_producer(task_group: Any) -> list[Any]:
    """Let every consumer sensor of ``task_group`` start with the run, beside the watcher
    producer (``always``), and in the triggerer (``consumer_graph.start_consumers_in_triggerer``);
    return the consumers, which the DAG draws upstream of publishing.

    The edges of dbt's lineage stay (the UI shows it, "clear downstream" follows it), but no
    consumer waits for its parents' tasks to succeed: each reports its node as soon as the build
    has decided it and its tests. Waiting level by level cost ~3 s of triggerer and scheduler
    loops per level, and the last levels of marts are built in a few seconds: at demo scale the
    last consumer ended 10.6-16.4 s after the build, and within ~1.5 s of its end without the
    wait (no-op builds under the scheduler, 2026-12-06: README, Measured). What the wait gave is
    kept otherwise:
    - a failed node or test fails its task; dbt skips every node built from it, and their tasks
      end skipped instead of upstream_failed;
    - publishing waits for EVERY consumer (not only the group's last ones), so one failed task
      anywhere fails the run and nothing is published;
    - a node is rebuilt on a worker (a retry, a clear, a build that ended without it) only after
      its parents' tasks ended, and only when they succeeded (else it ends skipped:
      ``watcher._NodeAndTestsConsumer._skip_unless_parents_succeeded``), so rebuilds keep dbt's
      order and DuckDB's one writer.
    The producer is drawn upstream of the root consumers; ``always`` also keeps the per-model
    report when the build fails: the consumers of the nodes that failed fail, those of the nodes
    that succeeded succeed.
    """
    from cosmos.constants import PRODUCER_WATCHER_DONE_TASK_ID, PRODUCER_WATCHER_TASK_ID

    from matrix_pulse.transform.consumer_graph import count_tests_where_declared, start_consumers_in_triggerer
    from matrix_pulse.transform.watcher import _NodeAndTestsConsumer

    # the manifest Cosmos has just rendered the group from (dbt_task_group_kwargs checked it)
    count_tests_where_declared(task_group, json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))["nodes"])
    start_consumers_in_triggerer(task_group)
    producer = task_group.get_child_by_label(PRODUCER_WATCHER_TASK_ID)
    gate_id = task_group.child_id(PRODUCER_WATCHER_DONE_TASK_ID)
    for task in list(task_group.get_roots()):
        if task.task_id not in (producer.task_id, gate_id):
            producer >> task
    consumers = [t for t in task_group.iter_tasks() if isinstance(t, _NodeAndTestsConsumer)]
    for task in consumers:
        task.trigger_rule = "always"
    return consumers


if __name__ == "__main__":
    print(ensure_manifest())
