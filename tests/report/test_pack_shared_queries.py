"""Packs built one after another on one read-only connection share the national figures and the
quarter's scans (queries_base.shared_per_connection, quarter_relation): every number must equal
that of a pack built alone, on a fresh connection, and on a writable connection (which shares nothing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import QuarterPack, build_pack
from matrix_pulse.report.quarters import Quarter

Q = Quarter.parse("2026Q3")
HQ = Audience("hq", "总部市场部", "national", ("cmo@example.com",))
HUADONG = Audience("huadong", "华东大区", "region", ("huadong@example.com",), region="华东")


def _numbers(pack: QuarterPack) -> dict:
    return {"tables": {k: t.df.reset_index(drop=True) for k, t in pack.tables.items()},
            "kpis": [(k.key, k.value, k.previous, k.year_ago, k.benchmark) for k in pack.kpis],
            "funnel": pack.funnel, "live": pack.live, "reach": pack.reach, "wecom": pack.wecom,
            "advice": [(r.title, r.triggered, r.evidence) for r in pack.recommendations]}  # fmt: skip


def _assert_same(a: dict, b: dict) -> None:
    assert a["tables"].keys() == b["tables"].keys()
    for key in a["tables"]:
        pd.testing.assert_frame_equal(a["tables"][key], b["tables"][key], check_exact=True, obj=key)
    assert repr({k: v for k, v in a.items() if k != "tables"}) == repr(
        {k: v for k, v in b.items() if k != "tables"}
    )


def test_packs_on_one_connection_equal_packs_built_alone(fixture_db: Path, tmp_path: Path) -> None:
    alone = {}
    for audience in (HUADONG, HQ):
        with duckdb.connect(str(fixture_db), read_only=True) as con:
            alone[audience.id] = _numbers(build_pack(con, Q, audience, GateConfig()))
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        # the regional pack first, so the HQ pack reads national figures it computed
        shared = {a.id: _numbers(build_pack(con, Q, a, GateConfig())) for a in (HUADONG, HQ, HUADONG)}
    writable_db = tmp_path / "writable.duckdb"
    shutil.copy(fixture_db, writable_db)
    with duckdb.connect(str(writable_db)) as con:
        writable = {a.id: _numbers(build_pack(con, Q, a, GateConfig())) for a in (HQ, HUADONG)}
    for audience_id, numbers in alone.items():
        _assert_same(numbers, shared[audience_id])
        _assert_same(numbers, writable[audience_id])


def test_a_writable_connection_sees_its_own_changes(fixture_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "changing.duckdb"
    shutil.copy(fixture_db, db)
    with duckdb.connect(str(db)) as con:
        before = build_pack(con, Q, HQ, GateConfig())
        con.execute("update marts.fct_content_daily set views = views * 2 where date_day between ? and ?",
                    [Q.start, Q.end])  # fmt: skip
        after = build_pack(con, Q, HQ, GateConfig())
    views = lambda p: p.tables["content_types"].df["views"].sum()  # noqa: E731
    assert views(after) == 2 * views(before) > 0
