"""What a marketing director checks first: tables add up, history is honest, the advice
states its rules, the XLSX is typed, the mail reads on a phone (fixture marts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report import fmt
from matrix_pulse.report.advice import AdviceConfig, load_advice_config
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter

from tests.report.pack_checks import breakdown_mismatches, xlsx_cells

Q3, Q2 = Quarter.parse("2026Q3"), Quarter.parse("2026Q2")
HQ = Audience("hq", "总部市场部", "national", ("cmo@example.com",))
EAST = Audience("huadong", "华东大区", "region", ("east@example.com",), "华东")
CATEGORIES = {"内容", "互动", "渠道", "直播", "漏斗", "经销商跟进"}


@pytest.fixture(scope="module")
def con(fixture_db: Path):
    with duckdb.connect(str(fixture_db), read_only=True) as c:
        yield c


@pytest.fixture(scope="module")
def packs(con):
    return {(q.label, a.id): build_pack(con, q, a, GateConfig()) for q in (Q3, Q2) for a in (HQ, EAST)}


@pytest.mark.parametrize(
    "key", [("2026Q3", "hq"), ("2026Q3", "huadong"), ("2026Q2", "hq"), ("2026Q2", "huadong")]
)
def test_every_breakdown_sums_to_its_headline(packs, key) -> None:
    pack = packs[key]
    assert breakdown_mismatches(pack) == []
    # the rows that make it add up are there, by name
    assert "未归属" in set(pack.tables["matrix"].df["matrix_tier"])
    assert "其他渠道" in set(pack.tables["platforms"].df["platform_name_cn"])
    assert pack.tables["platforms"].df.set_index("platform_name_cn").loc["其他渠道", "valid_leads"] > 0


def test_accounts_are_counted_once_by_their_tier_on_the_last_day(
    con, tmp_path: Path, fixture_db: Path
) -> None:
    """An account that moved from KOC to 员工 mid-quarter is one 员工 account, not one of each."""
    db = tmp_path / "moved.duckdb"
    shutil.copy(fixture_db, db)
    with duckdb.connect(str(db)) as rw:
        rw.execute("update marts.fct_account_daily set matrix_tier = '员工' "
                   "where account_id = 'koc_1' and date_day >= '2026-08-15'")  # fmt: skip
        pack = build_pack(rw, Q3, HQ, GateConfig())
        distinct = rw.execute("select count(distinct (platform, account_id)) from marts.fct_account_daily "
                              "where date_day between '2026-07-01' and '2026-09-30'").fetchone()[0]  # fmt: skip
    tiers = pack.tables["matrix"].df.set_index("matrix_tier")
    assert tiers["accounts"].sum() == distinct
    assert (tiers.loc["KOC", "accounts"], tiers.loc["员工", "accounts"]) == (5, 4)
    assert "最后一天" in pack.tables["matrix"].note


def test_region_comparison_and_funnel_cuts(con, packs) -> None:
    regions = packs[("2026Q3", "hq")].tables["region_comparison"].df.set_index("region")
    assert {"华东", "华南", "华北", "华中", "西南", "西北", "东北"} <= set(regions.index)
    own = con.execute(
        """select region, count(*) filter (where is_valid),
                  count(*) filter (where is_valid and test_drive_at is not null) / count(*) filter (where is_valid),
                  count(*) filter (where is_valid and delivered_at is not null) / count(*) filter (where is_valid),
                  median(response_minutes) filter (where is_valid)
           from marts.fct_leads where created_date between '2026-07-01' and '2026-09-30' group by 1"""
    ).fetchall()
    for region, valid, test_drive, delivery, median in own:
        row = regions.loc[region]
        assert row["valid_leads"] == valid
        assert row["test_drive_rate"] == pytest.approx(test_drive)
        assert row["delivery_rate"] == pytest.approx(delivery)
        assert row["median_response_minutes"] == pytest.approx(median)
    assert "region_comparison" not in packs[("2026Q3", "huadong")].tables
    for key in ("funnel_platform", "funnel_tier"):
        assert key in packs[("2026Q3", "huadong")].tables


def test_history_gaps_are_blank_and_say_why(packs, tmp_path: Path) -> None:
    """2026Q2's previous quarter and year-ago quarter are not in the fixture: "—" with a reason,
    gaps (NaN) in the trend, blank XLSX cells with a note, no legend entry for an empty series."""
    from matrix_pulse.report import charts
    from matrix_pulse.report.render import write_xlsx

    q2 = packs[("2026Q2", "hq")]
    for k in q2.kpis:
        assert k.qoq[0] == "—（上季度 2026Q1 无数据）" and k.yoy[0] == "—（去年同期 2025Q2 无数据）"
    q3 = {k.key: k for k in packs[("2026Q3", "hq")].kpis}
    assert q3["valid_leads"].qoq[0][0] in "▲▼" and q3["valid_leads"].yoy[0][0] in "▲▼"
    trend = q2.tables["monthly_trend"].df.set_index("month")
    assert trend.loc[["2026-01", "2026-02", "2026-03"], "exposure"].isna().all()
    assert (trend.loc[["2026-04", "2026-05", "2026-06"], "exposure"] > 0).all()
    assert "2026-01" in q2.tables["monthly_trend"].note and "不是 0" in q2.tables["monthly_trend"].note
    path = write_xlsx(q2, tmp_path / "q2.xlsx")
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("月度趋势").to_python()
    assert [r[1] for r in rows[1:4]] == ["", "", ""] and all(r[1] != "" for r in rows[4:7])

    captured = {}

    def keep(fig, path):  # the chart as drawn, before it is closed
        captured["fig"] = fig
        return path

    orig = charts._save
    charts._save = keep
    try:
        charts.trend_chart(q2, tmp_path / "trend.png")
    finally:
        charts._save = orig
    fig = captured["fig"]
    labels = [t.get_text() for ax in fig.axes for leg in [ax.get_legend()] if leg for t in leg.get_texts()]
    assert "去年同月有效线索" not in labels and "有效线索（右轴）" in labels
    line = next(ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label() == "有效线索（右轴）")
    ys = list(line.get_ydata())
    assert all(y != y for y in ys[:3]) and all(y > 0 for y in ys[3:])  # NaN (a gap), never 0
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_advice_states_rules_thresholds_and_numbers(packs) -> None:
    for key in (("2026Q3", "hq"), ("2026Q3", "huadong")):
        recs = packs[key].recommendations
        assert len(recs) >= 8
        assert {r.category for r in recs} >= CATEGORIES
        for r in recs:
            assert r.rule.startswith("规则") and any(ch.isdigit() for ch in r.rule), r.rule
            assert "中位数" not in r.rule.replace("响应时长中位数", ""), r.rule  # never "below the median"
            assert r.evidence and r.action
        assert any(r.triggered for r in recs)


def test_advice_thresholds_come_from_config(con, tmp_path: Path) -> None:
    repo = load_advice_config()
    assert repo.min_24h_rate == 0.8 and repo.high_views_quantile == 0.9
    path = tmp_path / "advice.yaml"
    path.write_text("follow_up: {min_24h_rate: 0.999, min_valid_leads: 1}\n", encoding="utf-8")
    cfg = load_advice_config(path)
    pack = build_pack(con, Q3, HQ, GateConfig(), advice_cfg=cfg)
    rule = next(r for r in pack.recommendations if "24 小时跟进率低于" in r.rule)
    expected = con.execute(
        "select count(*) from marts.mart_dealer_scorecard where quarter_label = '2026Q3' "
        "and valid_leads >= 1 and follow_up_24h_rate < 0.999"
    ).fetchone()[0]
    assert rule.triggered and f"{expected} 家经销商" in rule.title and "99.9%" in rule.rule
    path.write_text("follow_up: {min_24h_rate: high}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="follow_up.min_24h_rate"):
        load_advice_config(path)
    path.write_text("follow_up: {min_24h: 0.5}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown advice setting follow_up.min_24h"):
        load_advice_config(path)
    assert AdviceConfig().inactive_days == 30


def test_regional_pack_gets_its_own_creator_deals_and_dealers(con, packs) -> None:
    east = packs[("2026Q3", "huadong")]
    own = con.execute(
        """select r.deal_key, g.valid_leads from marts.mart_creator_roi r
           join marts.mart_creator_deal_regions g using (deal_key, quarter_label)
           where r.quarter_label = '2026Q3' and g.region = '华东' and g.leads > 0"""
    ).fetchall()
    roi = east.tables["creator_roi"].df
    assert dict(zip(roi["deal_key"], roi["valid_leads"], strict=True)) == dict(own)
    hq_deals = len(packs[("2026Q3", "hq")].tables["creator_roi"].df)
    assert len(roi) <= hq_deals
    east_dealers = {
        r[0] for r in con.execute("select dealer_name from marts.dim_dealer where region = '华东'").fetchall()
    }
    funnel_rules = [r for r in east.recommendations if r.category == "漏斗"]
    for r in funnel_rules:
        for line in r.evidence:
            name = line.split("：")[0]
            assert name.startswith("全部") or name in east_dealers, line


def test_number_formats_have_sensible_precision() -> None:
    assert fmt.count(11_165) == "1.12万" and fmt.count(1_131_000) == "113万"
    assert fmt.count(12_220_000) == "1222万" and fmt.count(50_000_000) == "5000万"
    assert fmt.count(99_999_999) == "1亿" and fmt.count(234_500_000) == "2.35亿"
    assert fmt.count(1_234) == "1,234" and fmt.yuan(74_794) == "¥7.48万"
    assert not any(fmt.count(v).endswith(".0万") for v in range(10_000, 100_000_000, 2_500_000))


def test_xlsx_is_typed_and_source_text_never_becomes_a_formula(fixture_db: Path, tmp_path: Path) -> None:
    from matrix_pulse.report.render import write_xlsx
    from python_calamine import CalamineWorkbook

    db = tmp_path / "formula.duckdb"
    shutil.copy(fixture_db, db)
    evil = '=HYPERLINK("http://example.com","点我")'
    with duckdb.connect(str(db)) as rw:
        rw.execute("update marts.mart_content_top set title = ? where post_id = "
                   "(select post_id from marts.mart_content_top where quarter_label = '2026Q3' "
                   "order by views desc limit 1)", [evil])  # fmt: skip
        pack = build_pack(rw, Q3, HQ, GateConfig())
    path = write_xlsx(pack, tmp_path / "pack.xlsx")
    import zipfile

    with zipfile.ZipFile(path) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    top = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Top内容").to_python()
    assert top[1][0] == evil
    cells = xlsx_cells(path, "Top内容")
    assert cells[(1, 0)]["type"] in ("s", "str", "inlineStr") and not cells[(1, 0)]["formula"]
    assert cells[(1, 7)]["format"] == "0.0%"  # 互动率
    platforms = xlsx_cells(path, "平台对比")
    assert platforms[(1, 3)]["format"] == "0.0%" and platforms[(1, 1)]["format"] == "#,##0"
    live = xlsx_cells(path, "Top直播")
    assert live[(1, 0)]["format"] == "yyyy-mm-dd" and live[(1, 0)]["type"] == "n"  # a date, not text
    kpis = xlsx_cells(path, "核心指标")
    kinds = {k.label: k.kind for k in pack.kpis}
    for i, label in enumerate(pack.tables["kpis"].df["label"], start=1):
        expected = {"pct": "0.0%", "count": "#,##0", "minutes": "0.0"}[kinds[label]]
        assert kpis[(i, 1)]["format"] == expected, label


def test_dealer_response_median_is_over_valid_leads(fixture_db: Path, tmp_path: Path) -> None:
    """One definition: the scorecard's response median is over valid leads, like the headline's,
    even when the scorecard mart carries a median over all leads (as mart_dealer_scorecard does today)."""
    db = tmp_path / "all_leads_median.duckdb"
    shutil.copy(fixture_db, db)
    with duckdb.connect(str(db)) as rw:
        rw.execute("""update marts.mart_dealer_scorecard s set median_response_minutes = m.all_median
                      from (select dealer_code, median(response_minutes) as all_median from marts.fct_leads
                            where created_date between '2026-07-01' and '2026-09-30' group by 1) m
                      where s.dealer_code = m.dealer_code and s.quarter_label = '2026Q3'""")  # fmt: skip
        valid = dict(rw.execute("""select dealer_code, median(response_minutes) filter (where is_valid)
                                   from marts.fct_leads where created_date between '2026-07-01' and '2026-09-30'
                                   group by 1""").fetchall())  # fmt: skip
        pack = build_pack(rw, Q3, HQ, GateConfig())
    sc = pack.tables["dealer_scorecard"].df.set_index("dealer_code")
    assert {k: pytest.approx(v) for k, v in valid.items()} == sc["median_response_minutes"].to_dict()
    fastest = min(valid, key=valid.get)
    assert sc.loc[fastest, "rank_response"] == 1
