"""The demo's HQ pack and one regional pack, read back from the XLSX as a reader would, cell by
cell against the marts queried with this test's OWN SQL (not report/queries.py); and every
breakdown sums to its headline. H1's marts == truth test closes the chain to the simulator."""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.report.pack_checks import breakdown_mismatches, xlsx_cells

pytestmark = pytest.mark.slow
REGION, REGION_ID = "华东", "huadong"


def _xlsx(demo: dict, audience: str) -> Path:
    found = sorted(
        (demo["home"] / "outputs" / "packs").glob(f"*/{audience}/MatrixPulse_*_{audience}_issue*.xlsx")
    )
    assert found, f"no XLSX for {audience} under {demo['home'] / 'outputs' / 'packs'}"
    return found[-1]


def sheet(path: Path, name: str) -> pd.DataFrame:
    """A sheet as a DataFrame: the header row, then the rows up to the first blank row (the note follows)."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    body = []
    for r in rows[1:]:
        if all(c == "" for c in r):
            break
        body.append([None if c == "" else c for c in r])
    return pd.DataFrame(body, columns=[str(h) for h in rows[0]])


def same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return False
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return str(a) == str(b)


def assert_cells(
    xlsx: pd.DataFrame, truth: pd.DataFrame, key: str, columns: dict[str, str], where: str
) -> None:
    """Every row of ``truth`` is in the sheet (by the ``key`` header) with equal cells, and no other row."""
    got = xlsx.set_index(key)
    exp = truth.set_index(key)
    assert set(got.index) == set(exp.index), (
        f"{where}: rows {sorted(map(str, got.index))} != {sorted(map(str, exp.index))}"
    )
    bad = [(where, k, header, got.loc[k, header], exp.loc[k, col]) for k in exp.index
           for header, col in columns.items() if not same(got.loc[k, header], exp.loc[k, col])]  # fmt: skip
    assert bad == [], bad[:10]


@pytest.fixture(scope="module")
def marts(demo: dict):
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def quarter(demo: dict) -> tuple[str, str, str]:
    label = _xlsx(demo, "hq").parent.parent.name
    year, q = int(label[:4]), int(label[-1])
    start = pd.Timestamp(year, 3 * q - 2, 1)
    end = start + pd.offsets.QuarterEnd(0)
    return label, str(start.date()), str(end.date())


def q(con, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()


def _region_sql(region: str | None, column: str = "region") -> tuple[str, list]:
    return (f" and {column} = ?", [region]) if region else ("", [])


FUNNEL_SQL = """
    select {dim} as segment, count(*) as leads, count(*) filter (where is_valid) as valid,
           count(*) filter (where is_valid and arrived_at is not null) as arrivals,
           count(*) filter (where is_valid and test_drive_at is not null) as test_drives,
           count(*) filter (where is_valid and ordered_at is not null) as orders,
           count(*) filter (where is_valid and delivered_at is not null) as deliveries,
           median(response_minutes) filter (where is_valid) as median_resp,
           avg(case when followed_within_24h then 1.0 else 0.0 end) filter (where is_valid) as fu24
    from marts.fct_leads where created_date between ? and ?{where} group by 1"""


def _funnel(con, start, end, region, dim) -> pd.DataFrame:
    where, params = _region_sql(region)
    df = q(con, FUNNEL_SQL.format(dim=dim, where=where), [start, end, *params])
    for name, n in (("arrival", "arrivals"), ("test_drive", "test_drives"), ("order", "orders"),
                    ("delivery", "deliveries")):  # fmt: skip
        df[name] = [a / v if v else None for a, v in zip(df[n], df["valid"], strict=True)]
    return df


FUNNEL_HEADERS = {"线索": "leads", "有效线索": "valid", "到店": "arrivals", "到店率": "arrival", "试驾": "test_drives",
                  "试驾率": "test_drive", "下订": "orders", "订单转化率": "order", "交车": "deliveries",
                  "交车率": "delivery", "响应中位数（分钟）": "median_resp", "24h 跟进率": "fu24"}  # fmt: skip


@pytest.mark.parametrize("audience", ["hq", REGION_ID])
def test_kpis_tiers_platforms_and_funnels_equal_the_marts(demo, marts, quarter, audience) -> None:
    label, start, end = quarter
    region = None if audience == "hq" else REGION
    path = _xlsx(demo, audience)
    where, params = _region_sql(region)

    # 核心指标
    content = q(marts, f"""select sum(c.exposure) as exposure, sum(c.engagements) / sum(c.views) as ir
                          from marts.fct_content_daily c where c.date_day between ? and ?{where}""",
                [start, end, *params])  # fmt: skip
    total = _funnel(marts, start, end, region, "'all'")
    kpis = sheet(path, "核心指标").set_index("指标")["本季度"]
    assert same(kpis["总曝光"], float(content["exposure"][0]))
    assert same(kpis["互动率"], float(content["ir"][0]))
    assert same(kpis["有效线索"], float(total["valid"][0]))
    assert same(kpis["线索→订单转化率"], float(total["order"][0]))
    assert same(kpis["首次响应时长（中位数，有效线索）"], float(total["median_resp"][0]))
    assert same(kpis["24 小时跟进率"], float(total["fu24"][0]))

    # 矩阵视图: content by the day's tier, accounts once by the tier on their last day, leads by source tier
    tiers = q(marts, f"""
        with c as (select matrix_tier, sum(exposure) as exposure, sum(engagements) as engagements
                   from marts.fct_content_daily where date_day between ? and ?{where} group by 1),
             a as (select tier as matrix_tier, count(*) as accounts from (
                     select arg_max(matrix_tier, date_day) as tier, arg_max(region, date_day) as region
                     from marts.fct_account_daily where date_day between ? and ? group by platform, account_id)
                   where true{where} group by 1),
             l as (select case when source_matrix_tier is null or source_matrix_tier = 'none' then '未归属'
                                else source_matrix_tier end as matrix_tier, count(*) filter (where is_valid) as valid
                   from marts.fct_leads where created_date between ? and ?{where} group by 1)
        select matrix_tier, coalesce(c.exposure, 0) as exposure, coalesce(c.engagements, 0) as engagements,
               coalesce(a.accounts, 0) as accounts, coalesce(l.valid, 0) as valid
        from c full join a using (matrix_tier) full join l using (matrix_tier)""",
              [start, end, *params, start, end, *params, start, end, *params])  # fmt: skip
    xt = sheet(path, "矩阵视图")
    xt = xt[
        (xt[["账号数", "曝光", "有效线索"]].fillna(0) != 0).any(axis=1)
    ]  # tiers with nothing are extra rows
    assert_cells(xt, tiers.rename(columns={"matrix_tier": "矩阵层级"}), "矩阵层级", {"曝光": "exposure", "互动量": "engagements", "账号数": "accounts",
                                        "有效线索": "valid"}, f"{audience}/矩阵视图")  # fmt: skip

    # 平台对比
    plats = q(marts, f"""
        with c as (select platform, sum(exposure) as exposure, sum(engagements) as engagements
                   from marts.fct_content_daily where date_day between ? and ?{where} group by 1),
             l as (select coalesce(source_platform, 'other') as platform, count(*) as leads,
                          count(*) filter (where is_valid) as valid
                   from marts.fct_leads where created_date between ? and ?{where} group by 1),
             p as (select platform, platform_name_cn from marts.dim_platform union all select 'other', '其他渠道')
        select p.platform_name_cn, coalesce(c.exposure, 0) as exposure, coalesce(c.engagements, 0) as engagements,
               coalesce(l.leads, 0) as leads, coalesce(l.valid, 0) as valid
        from p left join c using (platform) left join l using (platform)""",
              [start, end, *params, start, end, *params])  # fmt: skip
    assert_cells(
        sheet(path, "平台对比"),
        plats.rename(columns={"platform_name_cn": "平台"}),
        "平台",
        {"曝光": "exposure", "互动量": "engagements", "线索": "leads", "有效线索": "valid"},
        f"{audience}/平台对比",
    )

    # 漏斗: by platform (Chinese name), tier, region
    names = dict(marts.execute("select platform, platform_name_cn from marts.dim_platform").fetchall())
    names["other"] = "其他渠道"
    cuts = [("漏斗-平台", "来源平台", "coalesce(source_platform, 'other')"),
            ("漏斗-层级", "来源层级", "case when source_matrix_tier is null or source_matrix_tier = 'none' then '未归属' "
                                  "else source_matrix_tier end")]  # fmt: skip
    if region is None:
        cuts.append(("漏斗-大区", "大区", "coalesce(region, '未归属')"))
    for name, header, dim in cuts:
        exp = _funnel(marts, start, end, region, dim)
        if name == "漏斗-平台":
            exp["segment"] = exp["segment"].map(lambda p: names.get(p, p))
        assert_cells(sheet(path, name), exp.rename(columns={"segment": header}), header, FUNNEL_HEADERS,
                     f"{audience}/{name}")  # fmt: skip


def test_hq_region_comparison_equals_the_marts(demo, marts, quarter) -> None:
    label, start, end = quarter
    path = _xlsx(demo, "hq")
    reach = q(marts, """select region, sum(exposure) as exposure, sum(engagements) / nullif(sum(views), 0) as ir
                        from marts.fct_content_daily where date_day between ? and ? group by 1""", [start, end])  # fmt: skip
    funnel = _funnel(marts, start, end, None, "coalesce(region, '未归属')").rename(
        columns={"segment": "region"}
    )
    exp = reach.merge(funnel, on="region", how="outer")
    exp["exposure"] = exp["exposure"].fillna(0)
    exp["valid"] = exp["valid"].fillna(0)
    xr = sheet(path, "大区对比")
    assert {"华东", "华南", "华北", "华中", "西南", "西北", "东北"} <= set(xr["大区"])
    xr = xr[(xr[["曝光", "有效线索"]].fillna(0) != 0).any(axis=1)]
    assert_cells(xr, exp.rename(columns={"region": "大区"}), "大区",
                 {"曝光": "exposure", "互动率": "ir", "有效线索": "valid", "到店率": "arrival", "试驾率": "test_drive",
                  "订单转化率": "order", "交车率": "delivery", "响应中位数（分钟）": "median_resp"}, "hq/大区对比")  # fmt: skip


@pytest.mark.parametrize("audience", ["hq", REGION_ID])
def test_dealers_creators_live_and_trend_equal_the_marts(demo, marts, quarter, audience) -> None:
    label, start, end = quarter
    region = None if audience == "hq" else REGION
    path = _xlsx(demo, audience)
    where, params = _region_sql(region)
    # counts from the scorecard mart; the response median over VALID leads from fct_leads (one definition)
    sc = q(marts, f"""select s.*, m.valid_median from marts.mart_dealer_scorecard s
                     left join (select dealer_code, median(response_minutes) filter (where is_valid) as valid_median
                                from marts.fct_leads where created_date between ? and ? group by 1) m using (dealer_code)
                     where s.quarter_label = ?{where.replace("region", "s.region")}""", [start, end, label, *params])  # fmt: skip
    assert_cells(sheet(path, "经销商记分卡"), sc.rename(columns={"dealer_code": "经销商代码"}), "经销商代码",
                 {"线索": "leads", "有效线索": "valid_leads", "到店": "arrivals", "订单": "orders",
                  "订单转化率": "order_rate", "响应中位数（分钟）": "valid_median",
                  "24h 跟进率": "follow_up_24h_rate"}, f"{audience}/经销商记分卡")  # fmt: skip

    if region is None:
        deals = q(marts, "select deal_key, cost_yuan, exposure, engagements, leads, valid_leads, orders "
                         "from marts.mart_creator_roi where quarter_label = ?", [label])  # fmt: skip
    else:
        deals = q(marts, """select r.deal_key, r.cost_yuan, r.exposure, r.engagements, g.leads, g.valid_leads, g.orders
                            from marts.mart_creator_roi r join marts.mart_creator_deal_regions g using (deal_key, quarter_label)
                            where r.quarter_label = ? and g.region = ? and g.leads > 0""", [label, region])  # fmt: skip
    xd = sheet(path, "达人ROI")
    assert len(xd) == len(deals)
    for col, header in (("cost_yuan", "投入（元）"), ("exposure", "曝光"), ("engagements", "互动量"), ("leads", "线索"),
                        ("valid_leads", "有效线索"), ("orders", "下订")):  # fmt: skip
        assert same(float(xd[header].fillna(0).sum()), float(deals[col].fillna(0).sum())), (audience, header)
    xc = sheet(path, "活动ROI")
    assert same(float(xc["投入（元）"].sum()), float(deals["cost_yuan"].sum()))

    live = q(marts, f"""select count(*) as n, sum(viewers) as viewers, sum(leads) as leads
                        from marts.fct_live_sessions where date_day between ? and ?{where}""", [start, end, *params])  # fmt: skip
    xl = sheet(path, "直播")
    assert (xl["场次"].sum(), xl["观看人数"].sum(), xl["留资"].sum()) == tuple(int(v) for v in live.iloc[0])

    trend = sheet(path, "月度趋势").set_index("月份")
    months = q(marts, f"""select strftime(date_day, '%Y-%m') as m, sum(exposure) as exposure
                         from marts.fct_content_daily where date_day between ? and ?{where} group by 1""",
               [start, end, *params]).set_index("m")["exposure"]  # fmt: skip
    for m, v in months.items():
        assert same(trend.loc[m, "曝光"], float(v)), (audience, m)


@pytest.mark.parametrize("audience", ["hq", REGION_ID])
def test_breakdowns_sum_to_headlines_and_cells_are_typed(demo, marts, quarter, audience) -> None:
    from matrix_pulse.report.audiences import load_config
    from matrix_pulse.report.pack import build_pack
    from matrix_pulse.report.quarters import Quarter

    cfg = load_config(Path(__file__).resolve().parents[2] / "config" / "audiences.yaml")
    pack = build_pack(marts, Quarter.parse(quarter[0]), cfg.audience(audience), cfg.gate, cfg.pack)
    assert breakdown_mismatches(pack) == []
    path = _xlsx(demo, audience)
    kpis = sheet(path, "核心指标")
    valid = float(kpis.set_index("指标").loc["有效线索", "本季度"])
    for name, col in (
        ("平台对比", "有效线索"),
        ("矩阵视图", "有效线索"),
        ("漏斗-平台", "有效线索"),
        ("漏斗-层级", "有效线索"),
    ):
        assert same(float(sheet(path, name)[col].fillna(0).sum()), valid), (audience, name)
    cells = xlsx_cells(path, "平台对比")
    assert cells[(1, 3)]["format"] == "0.0%" and not any(c["formula"] for c in cells.values())
    # QoQ / YoY: a real change when the marts hold the earlier quarter (the five-quarter demo),
    # else a dash that says why; never a blank or a fake 0 %
    this = Quarter.parse(quarter[0])
    held = {r[0] for r in marts.execute("select distinct quarter_label from marts.dim_date d "
                                        "join marts.fct_content_daily c using (date_day)").fetchall()}  # fmt: skip
    for col, earlier in (("环比", this.previous()), ("同比", this.year_ago())):
        for cell in kpis[col]:
            if earlier.label in held:
                assert cell.startswith(("▲", "▼", "持平")), (audience, col, cell)
            else:
                assert cell == f"—（{'上季度' if col == '环比' else '去年同期'} {earlier.label} 无数据）", (
                    col,
                    cell,
                )
