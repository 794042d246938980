"""Cosmos' cache (dbt's partial-parse state between runs) belongs to one checkout.

Its default, <tmp>/cosmos, is shared by every checkout on the machine; a run of a checkout whose
dbt project differs then starts from the other one's parse (seen once: an older checkout's build
ran a newer one's data tests and failed on their missing macro). scripts/env.sh keeps it inside
the clone's Airflow home, through the setting Cosmos reads, ``[cosmos] cache_dir``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from matrix_pulse.settings import REPO_ROOT


def _cosmos_cache_dir(checkout: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MP_"))}
    out = subprocess.run(
        ["bash", "-c", 'source scripts/env.sh && echo "$AIRFLOW__COSMOS__CACHE_DIR"'],
        cwd=checkout, env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return Path(out.strip())


def test_each_checkout_has_its_own_cosmos_cache(tmp_path: Path) -> None:
    checkouts = [tmp_path / "release_a", tmp_path / "release_b"]
    for checkout in checkouts:
        (checkout / "scripts").mkdir(parents=True)
        shutil.copy(REPO_ROOT / "scripts" / "env.sh", checkout / "scripts" / "env.sh")
    caches = [_cosmos_cache_dir(checkout) for checkout in checkouts]
    assert caches[0] != caches[1]
    for checkout, cache in zip(checkouts, caches, strict=True):
        assert cache.is_relative_to(checkout / "airflow_home"), cache
