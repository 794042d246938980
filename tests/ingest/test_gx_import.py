"""GX checks import Great Expectations without scipy.stats and altair (matrix_pulse.ingest.gx_import),
and scipy.stats still works for whoever reads it later.

Run in a fresh interpreter: the test session may already have imported GX or scipy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import datetime as dt, json, sys
from matrix_pulse.ingest import run_ingest
from matrix_pulse.ingest.quality import run_quality
from matrix_pulse.settings import get_settings
from tests.ingest.fixtures import write_all_good

settings = get_settings()
settings.landing_dir.mkdir(parents=True, exist_ok=True)
write_all_good(settings.landing_dir, dt.date(2026, 7, 1), n=3)
run_ingest(settings)
report = run_quality(settings)
out = {"checked": report.files_checked, "deferred": type(sys.modules["scipy.stats"]).__name__,
       "stats_py": "scipy.stats._stats_py" in sys.modules, "altair": type(sys.modules["altair"]).__name__}
import threading
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
answers = []  # four threads read it first at once, as GX's KL-divergence expectation holds it
threads = [threading.Thread(target=lambda: answers.append(kl.stats.entropy([0.5, 0.5], [0.25, 0.75])))
           for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
out["entropy"] = answers
from scipy import stats
out["after"] = type(sys.modules["scipy.stats"]).__name__
out["same"] = kl.stats is stats is sys.modules["scipy.stats"]
from scipy.stats import norm
out["norm"] = float(norm.cdf(0))
print(json.dumps(out))
"""


def test_checks_run_without_scipy_stats_or_altair_and_stats_loads_on_first_use(tmp_path: Path) -> None:
    env = {**os.environ, "MP_HOME": str(tmp_path / "home"), "MP_STABLE_SECONDS": "0",
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "include"), str(REPO_ROOT)])}  # fmt: skip
    for var in ("MP_WAREHOUSE", "MP_PUBLISHED", "MP_LANDING_DIR"):
        env.pop(var, None)
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["checked"] > 0  # GX validated the day's files
    # the checks and their Data Docs never read scipy.stats or altair: neither was run
    assert out["deferred"] == out["altair"] == "_RunsOnFirstUse" and out["stats_py"] is False
    # the first read runs it: the real module, the same object for everyone
    assert len(out["entropy"]) == 4 and all(abs(e - 0.14384103622589045) < 1e-12 for e in out["entropy"])
    assert out["after"] == "module" and out["same"] is True and out["norm"] == 0.5
