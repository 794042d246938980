"""Audiences files for tests, cut from the repo's config/audiences.yaml.

A plain module, not a conftest: ``from conftest import ...`` finds whichever of the test tree's
conftest modules Python imported first under that name (tests/ops/conftest.py, in a full run).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from matrix_pulse.settings import REPO_ROOT


def hq_and_one_region(path: Path, region: str = "huadong") -> Path:
    """The repo's audiences file cut to HQ and one region, written to ``path`` (for MP_AUDIENCES_FILE).

    For the tests whose point is how packs are built and sent (on Celery and PostgreSQL, in the
    bench), not what each audience's pack says: tests/e2e holds all eight packs of the repo's file
    to the simulator's truth. The national and the regional scope are both still built; six packs
    fewer took the PostgreSQL pipeline test from ~170 to ~134 s run alone (README, Measured)."""
    config = yaml.safe_load((REPO_ROOT / "config" / "audiences.yaml").read_text(encoding="utf-8"))
    config["audiences"] = [a for a in config["audiences"] if a["id"] in ("hq", region)]
    assert len(config["audiences"]) == 2, config["audiences"]
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path
