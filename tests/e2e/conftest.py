"""The demo run every e2e test reads: `make demo` (scripts/demo.sh) run twice in one private MP_HOME.

Session-scoped so that every e2e module (marts against the truth, the pack against the marts, the
mail as a reader sees it) shares one run instead of paying for the demo again.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.ops.smtp_sink import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run_demo(home: Path, port: int) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MP_", "AIRFLOW_CONN_SMTP"))}
    env.update(MP_HOME=str(home), MP_SMTP_PORT=str(port), MP_STABLE_SECONDS="0",
               MP_PII_HMAC_KEY=os.environ["MP_PII_HMAC_KEY"])  # fmt: skip
    cmd = ["bash", "-c", "source scripts/env.sh && scripts/demo.sh"]
    # The pulled demo simulates, then pulls ~4,500 files over HTTP and SFTP before loading: on a
    # shared 2-core machine (2026-12-02, load ~24) the first run was still in mp_transform at 30 min.
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("demo_home")
    port = free_port()
    first = _run_demo(home, port)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    published = home / "published" / "matrix_pulse_marts.duckdb"
    with duckdb.connect(str(home / "warehouse" / "matrix_pulse.duckdb"), read_only=True) as con:
        raw_before = _raw_fingerprint(con)
    mails_before = pack_mails(home)
    second = _run_demo(home, port)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    with duckdb.connect(str(home / "warehouse" / "matrix_pulse.duckdb"), read_only=True) as con:
        raw_after = _raw_fingerprint(con)
    manifest = json.loads((home / "landing" / "_manifest.json").read_text())
    return {"home": home, "published": published, "manifest": manifest, "out": first.stdout,
            "raw_before": raw_before, "raw_after": raw_after, "mails_before": mails_before}  # fmt: skip


def expected_days(manifest: dict) -> dict:
    """What the pulled demo must show per source-day, from the simulator's manifest alone:
    ``rejected`` {(source, date): file name} the loader refuses, ``failed_pull`` the API days
    the pull refuses (a truncated answer; `failed_pull_days` says why per mess kind), and
    ``missing`` the days with no file: the manifest's own missing plus the failed pulls."""
    from matrix_pulse.pull.config import load_pull_config
    from matrix_pulse.pull.standins import failed_pull_days

    failed = failed_pull_days(manifest, load_pull_config())
    rejected = {(f["source"], f["data_date"]): Path(f["path"]).name
                for f in manifest["files"] if f["final"] and f["rejected"]}  # fmt: skip
    return {
        "rejected": {k: v for k, v in rejected.items() if k not in failed},
        "failed_pull": failed,
        "missing": {(m["source"], m["data_date"]) for m in manifest["missing"]} | failed,
        "manifest_rejected": set(rejected),
    }


def pack_mails(home: Path) -> list[str]:
    alerts = os.environ.get("MP_ALERT_EMAILS", "data-team@example.com").split(",")
    mails = sorted(p.name for p in (home / "outputs" / "mailbox").glob("*.eml"))
    return [m for m in mails if not any(a.strip() in m for a in alerts)]


def _raw_fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    tables = [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]  # fmt: skip
    out = {}
    for t in tables:
        cols = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema='raw' and table_name=? "
            "and column_name not in ('loaded_at', 'set_aside_at') order by ordinal_position", [t]).fetchall()]  # fmt: skip
        collist = ", ".join(f'"{c}"' for c in cols)
        out[t] = con.execute(f"select count(*), sum(hash({collist})) from raw.{t}").fetchone()
    return out
