"""How the transform DAG runs the dbt project through astronomer-cosmos.

One place for the Cosmos configuration, so the DAG file stays thin:

- ``LoadMode.DBT_MANIFEST``: the DAG is rendered from ``dbt/target/manifest.json`` without
  running dbt at parse time. ``ensure_manifest()`` (re)builds it with ``dbt parse`` when it is
  missing or older than any file of the dbt project; set-up and CI call
  ``python -m matrix_pulse.transform.cosmos_config`` so the scheduler never has to.
- ``TestBehavior.BUILD``: one ``dbt build --select <node>`` task per model / seed, running
  the node's data and unit tests with it; ``TestIndirectSelection.BUILDABLE`` so a test that
  also reads another model (relationships) runs with the model built last, never before
  its other parent exists.
- ``ExecutionMode.LOCAL`` with the venv's dbt, invoked in-process (dbtRunner).
- Every dbt task runs in the one-slot writer pool: DuckDB allows one writing process.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from matrix_pulse.settings import get_settings

DBT_PROJECT_DIR = get_settings().dbt_project_dir
PROFILES_YML = DBT_PROJECT_DIR / "profiles.yml"
PROFILE_NAME = "matrix_pulse"
DBT_EXECUTABLE = Path(sys.prefix) / "bin" / "dbt"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "snapshots", "tests")


def dbt_env(target: str = "duckdb") -> dict[str, str]:
    """Environment dbt needs: the absolute warehouse path (and target) from settings."""
    return {"MP_WAREHOUSE": str(get_settings().warehouse_path), "MP_DBT_TARGET": target}


def _newest_project_mtime() -> float:
    newest = 0.0
    for name in _PROJECT_INPUTS:
        path = DBT_PROJECT_DIR / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for f in path.rglob("*"):
                if f.is_file():
                    newest = max(newest, f.stat().st_mtime)
    return newest


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
        env = {**os.environ, **dbt_env(), "MP_WAREHOUSE": "/tmp/matrix_pulse_parse_only.duckdb"}
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


def dbt_task_group_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``cosmos.DbtTaskGroup`` running the Matrix Pulse project."""
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

    from matrix_pulse.orchestration import WRITER_POOL

    manifest = ensure_manifest()
    return {
        "project_config": ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest,
            install_dbt_deps=False,
            env_vars=dbt_env(),
        ),
        "profile_config": ProfileConfig(
            profile_name=PROFILE_NAME, target_name="duckdb", profiles_yml_filepath=PROFILES_YML
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=str(DBT_EXECUTABLE),
            # a relationships test (fct -> dim) runs with the fct model, once the dim exists
            test_indirect_selection=TestIndirectSelection.BUILDABLE,
        ),
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            emit_datasets=False,  # the publish task emits the marts Assets once, after the last model
        ),
        "operator_args": {"pool": WRITER_POOL, "append_env": True},
    }


if __name__ == "__main__":
    print(ensure_manifest())
