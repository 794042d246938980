"""Reconcile the ingest with the simulator's ground-truth manifest (docs/interfaces.md §2).

Deliveries are replayed in two waves, as they would land: first every file's first
delivery (the superseded ones live in ``_redeliveries/1``), then the final landing where
corrected copies overwrite them under the same name.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from matrix_pulse.ingest import refresh_freshness, run_ingest
from matrix_pulse.settings import Settings, get_settings

from .conftest import assert_reconciles, query

START, END = "2026-07-01", "2026-07-06"


def simulate(out: Path) -> dict:
    pytest.importorskip("matrix_pulse.simulator")
    cmd = [
        sys.executable,
        "-m",
        "matrix_pulse.simulator",
        "--scale",
        "demo",
        "--start",
        START,
        "--end",
        END,
        "--seed",
        "7",
        "--mess-rate",
        "0.02",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return json.loads((out / "_manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim") / "landing"
    return out, simulate(out)


def test_every_file_reconciles_with_the_manifest(
    settings: Settings, simulated: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim_landing, manifest = simulated
    first_wave = settings.home / "landing_wave1"
    shutil.copytree(sim_landing, first_wave, ignore=shutil.ignore_patterns("_redeliveries", "_manifest.json"))
    redeliveries = sim_landing / "_redeliveries" / "1"
    if redeliveries.exists():
        shutil.copytree(redeliveries, first_wave, dirs_exist_ok=True)
    # A Settings is a snapshot of the environment: take a new one after each setenv.
    monkeypatch.setenv("MP_LANDING_DIR", str(first_wave))
    run_ingest(get_settings())
    monkeypatch.setenv("MP_LANDING_DIR", str(sim_landing))
    settings = get_settings()
    summary = run_ingest(settings)
    refresh_freshness(settings)
    assert_reconciles(settings)

    ledger = {
        (r[0], r[1]): r[2:]
        for r in query(
            settings,
            "SELECT file_name, sha256, status, reason, rows_read, rows_loaded, rows_set_aside FROM meta.load_ledger",
        )
    }
    problems: list[str] = []
    for f in manifest["files"]:
        if not f["final"]:
            continue
        got = ledger.get((f["path"], f["sha256"]))
        if got is None:
            problems.append(f"{f['path']}: not in the ledger")
            continue
        status, reason, read, loaded, aside = got
        if f["rejected"]:
            if status != "rejected":
                problems.append(f"{f['path']}: expected rejected ({f['reject_reason']}), got {status}")
            continue
        if status != "loaded":
            problems.append(f"{f['path']}: {status} {reason}")
            continue
        if read != f["rows_read"]:
            problems.append(f"{f['path']}: rows_read {read} != {f['rows_read']}")
        want_aside = sorted((a.get("table", ""), a["row"], a["reason"]) for a in f["rows_set_aside"])
        got_aside = sorted(
            query(
                settings,
                "SELECT raw_table, source_row, reason FROM raw.quarantine "
                "WHERE source_file = ? AND file_sha256 = ?",
                [f["path"], f["sha256"]],
            )
        )
        if [(r, why) for _, r, why in got_aside] != [
            (r, why) for _, r, why in want_aside
        ] and got_aside != want_aside:
            problems.append(f"{f['path']}: set aside {got_aside[:5]} != manifest {want_aside[:5]}")
        for table, t in f["tables"].items():
            n = query(
                settings,
                f"SELECT count(*) FROM raw.{table} WHERE source_file = ? AND file_sha256 = ?",
                [f["path"], f["sha256"]],
            )[0][0]
            if n != t["rows_loaded"]:
                problems.append(f"{f['path']} {table}: rows_loaded {n} != {t['rows_loaded']}")
            for col, want in t["sums"].items():
                got_sum = query(
                    settings,
                    f'SELECT coalesce(sum("{col}"), 0) FROM raw.{table} '
                    "WHERE source_file = ? AND file_sha256 = ?",
                    [f["path"], f["sha256"]],
                )[0][0]
                if got_sum != want:
                    problems.append(f"{f['path']} {table}.{col}: sum {got_sum} != {want}")
    assert not problems, "\n".join(problems[:40])

    missing = {(m["source"], m["data_date"]) for m in manifest["missing"]}
    fresh = {
        (s, str(d))
        for s, d in query(
            settings, "SELECT source, data_date FROM meta.source_freshness WHERE status = 'missing'"
        )
    }
    assert missing <= fresh
    ignored = {r[0] for r in query(settings, "SELECT file_name FROM meta.ignored_files")}
    assert set(manifest["junk"]) <= ignored
    print({fmt: round(v) for fmt, v in summary.rows_per_second().items()})
