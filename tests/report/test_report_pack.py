"""The pack's numbers equal the marts', and a regional pack holds only its own dealers."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter

Q3 = Quarter.parse("2026Q3")
HQ = Audience("hq", "总部市场部", "national", ("cmo@example.com",))
EAST = Audience("huadong", "华东大区", "region", ("east@example.com",), "华东")


@pytest.fixture(scope="module")
def con(fixture_db: Path):
    with duckdb.connect(str(fixture_db), read_only=True) as c:
        yield c


@pytest.fixture(scope="module")
def packs(con):
    return {a.id: build_pack(con, Q3, a, GateConfig()) for a in (HQ, EAST)}


def _one(con, sql: str, params: list):
    return con.execute(sql, params).fetchall()[0][0]


def test_headline_numbers_equal_the_marts(con, packs) -> None:
    kpi = {k.key: k for k in packs["huadong"].kpis}
    exposure = _one(con, "select sum(exposure) from marts.mart_kpi_by_period where period_type = 'quarter' "
                         "and period_label = '2026Q3' and region = '华东'", [])  # fmt: skip
    valid = _one(con, "select count(*) from marts.fct_leads where is_valid and region = '华东' "
                      "and created_date between '2026-07-01' and '2026-09-30'", [])  # fmt: skip
    prev_valid = _one(con, "select count(*) from marts.fct_leads where is_valid and region = '华东' "
                           "and created_date between '2026-04-01' and '2026-06-30'", [])  # fmt: skip
    assert kpi["exposure"].value == exposure
    assert kpi["valid_leads"].value == valid and kpi["valid_leads"].previous == prev_valid
    national_valid = _one(con, "select count(*) from marts.fct_leads where is_valid "
                               "and created_date between '2026-07-01' and '2026-09-30'", [])  # fmt: skip
    assert kpi["valid_leads"].benchmark == national_valid
    assert {k.key: k.value for k in packs["hq"].kpis}["valid_leads"] == national_valid


def test_dealer_and_creator_tables_equal_the_marts(con, packs) -> None:
    sc = packs["hq"].tables["dealer_scorecard"].df.set_index("dealer_code")
    for code, leads, rate in con.execute(
        "select dealer_code, leads, follow_up_24h_rate from marts.mart_dealer_scorecard where quarter_label = '2026Q3'"
    ).fetchall():
        assert sc.loc[code, "leads"] == leads
        assert sc.loc[code, "follow_up_24h_rate"] == pytest.approx(rate)
    roi = packs["hq"].tables["creator_roi"].df
    assert roi["cost_yuan"].sum() == pytest.approx(
        _one(con, "select sum(cost_yuan) from marts.mart_creator_roi where quarter_label = '2026Q3'", [])
    )


def test_recommendations_cite_their_numbers(packs) -> None:
    recs = packs["hq"].recommendations
    assert len(recs) == 3
    assert recs[0].title.startswith("预算向") and "每有效线索成本" in recs[0].evidence[0]
    # The fixture silences the two NB005 accounts and one KOC from 2026-08-10.
    assert "3 个账号" in recs[1].title
    assert "网络中位数" in recs[2].title and recs[2].evidence


def test_regional_pack_has_no_other_region_dealer_rows(con, packs) -> None:
    south = {
        r[0]
        for r in con.execute("select dealer_code from marts.dim_dealer where region <> '华东'").fetchall()
    }
    south_names = {
        r[0]
        for r in con.execute("select dealer_name from marts.dim_dealer where region <> '华东'").fetchall()
    }
    for table in packs["huadong"].tables.values():
        df = table.df
        if "region" in df.columns:
            assert set(df["region"].dropna()) <= {"华东"}, table.key
        if "dealer_code" in df.columns:
            assert not set(df["dealer_code"].dropna()) & south, table.key
        for col in ("dealer_name", "account_name", "title"):
            if col in df.columns and table.key not in ("creator_roi",):
                assert not any(any(n in str(v) for n in south_names) for v in df[col]), table.key
    assert len(packs["huadong"].tables["dealer_scorecard"].df) == 5
    assert len(packs["hq"].tables["dealer_scorecard"].df) == 9


def test_gate_counts_missing_days_and_critical_failures(con, blocked_db: Path) -> None:
    from matrix_pulse.report import gate

    ok = gate.evaluate(con, Q3, GateConfig())
    assert ok.passed and ok.unusable_source_days == 4
    assert not gate.evaluate(con, Q3, GateConfig(max_missing_source_day_rate=0.001)).passed
    with duckdb.connect(str(blocked_db), read_only=True) as bad:
        blocked = gate.evaluate(bad, Q3, GateConfig())
    assert not blocked.passed and blocked.critical_failures == 1
    assert "douyin_posts 2026-08-20" in blocked.reasons[0]
