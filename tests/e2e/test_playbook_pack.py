"""The playbook sections of the demo's HQ pack and one regional pack (issue 16 items 1-4), read
back from the XLSX as a reader would, against the playbook marts queried with this test's own
SQL; and every breakdown adds up (months to the quarter, dealers to the board, weekdays to the
posts, platforms to the campaign). The marts themselves are held to the simulator's truth in
test_playbook_against_truth.py."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.e2e.test_pack_against_marts import REGION, REGION_ID, _xlsx, sheet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def marts(demo: dict):
    import duckdb

    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def quarter(demo: dict) -> str:
    return _xlsx(demo, "hq").parent.parent.name


def _q(con, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()


def _close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return (
        b is not None
        and not (isinstance(b, float) and math.isnan(b))
        and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    )


def _multiset(df: pd.DataFrame, cols: list[str]) -> list[tuple]:
    return sorted(tuple(round(float(v), 6) if v is not None and not pd.isna(v) else None for v in r)
                  for r in df[cols].itertuples(index=False))  # fmt: skip


@pytest.mark.parametrize(("audience", "region"), [("hq", None), (REGION_ID, REGION)])
def test_points_board_equals_the_mart(demo, marts, quarter, audience, region) -> None:
    xlsx = _xlsx(demo, audience)
    board = sheet(xlsx, "全员积分榜")
    where = " and region = ?" if region else ""
    want = _q(marts, f"select posts, views, engagements, points from marts.mart_advocacy_points "
                     f"where period_type = 'quarter' and period_label = ?{where}", [quarter, *([region] if region else [])])  # fmt: skip
    assert len(want) > 0
    got = board.rename(
        columns={"发布": "posts", "播放": "views", "互动": "engagements", "季度积分": "points"}
    )
    assert _multiset(got, ["posts", "views", "engagements", "points"]) == _multiset(
        want, ["posts", "views", "engagements", "points"]
    )
    month_cols = [c for c in board.columns if c.endswith("月积分")]
    assert len(month_cols) == 3
    for r in board.itertuples(index=False):  # the months add up to the quarter
        row = dict(zip(board.columns, r, strict=True))
        assert _close(sum(row[c] for c in month_cols), row["季度积分"])
    if region:
        assert set(board["大区"]) == {region}
    dealers = sheet(xlsx, "全员积分-经销商")  # dealers add up to the board
    assert _close(dealers["积分合计"].sum(), board["季度积分"].sum())
    by_dealer = board.groupby("经销商")["季度积分"].sum()
    for r in dealers.itertuples(index=False):
        assert _close(r[dealers.columns.get_loc("积分合计")], by_dealer[r[0]])
    # the rule's weights are printed with the table (the sheet's note), as the mart carries them
    from python_calamine import CalamineWorkbook

    cells = [
        c
        for row in CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_name("全员积分榜").to_python()
        for c in row
    ]
    rule = marts.execute("select distinct points_per_post, points_per_1000_views, points_per_engagement "
                         "from marts.mart_advocacy_points").fetchall()  # fmt: skip
    assert len(rule) == 1
    note = next(c for c in cells if isinstance(c, str) and c.startswith("积分规则"))
    assert f"每发布 1 条 {rule[0][0]:g} 分" in note and f"每千次播放 {rule[0][1]:g} 分" in note
    assert f"每次互动 {rule[0][2]:g} 分" in note


def test_advocacy_tiers_equal_the_mart(demo, marts, quarter) -> None:
    got = sheet(_xlsx(demo, "hq"), "全员矩阵贡献").set_index("层级")
    want = _q(marts, "select * from marts.mart_advocacy_tiers where quarter_label = ?", [quarter]).set_index(
        "matrix_tier"
    )
    assert set(got.index) == set(want.index) == {"高管", "员工"}
    for tier, w in want.iterrows():
        g = got.loc[tier]
        for header, col in (("账号数", "accounts"), ("每周都发布的账号", "accounts_posting_every_week"),
                            ("周更账号占比", "weekly_posting_share"), ("曝光", "exposure"),
                            ("曝光贡献", "exposure_share"), ("归因线索", "attributed_leads"), ("线索贡献", "lead_share")):  # fmt: skip
            assert _close(g[header], w[col]), (tier, header)


@pytest.mark.parametrize(("audience", "region"), [("hq", None), (REGION_ID, REGION)])
def test_rhythm_equals_the_mart(demo, marts, quarter, audience, region) -> None:
    xlsx = _xlsx(demo, audience)
    where, params = (" and region = ?", [quarter, region]) if region else ("", [quarter])
    want = _q(marts, f"""select matrix_tier, count(*) as accounts, sum(posts) as posts,
                             sum(weeks_met_target) / sum(weeks_in_quarter) as share,
                             count(*) filter (where is_silent) as silent, count(*) filter (where went_silent) as went
                      from marts.mart_publishing_rhythm where quarter_label = ?{where} group by all""", params).set_index("matrix_tier")  # fmt: skip
    got = sheet(xlsx, "周更计划").set_index("层级")
    assert set(got.index) == set(want.index)
    for tier, w in want.iterrows():
        g = got.loc[tier]
        assert (g["账号数"], g["发布"], g["整季未发账号"], g["停更账号"]) == (
            w["accounts"],
            w["posts"],
            w["silent"],
            w["went"],
        )
        assert _close(g["达标周占比"], w["share"])
    silent = sheet(xlsx, "停更与未发账号")
    assert len(silent) == int(want["silent"].sum() + want["went"].sum())
    slots = sheet(_xlsx(demo, "hq"), "官方账号时段")
    days = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert (slots[days].sum(axis=1) == slots["发布"]).all()
    official = _q(marts, "select sum(posts) as posts from marts.mart_publishing_rhythm "
                         "where quarter_label = ? and matrix_tier = '官方'", [quarter])  # fmt: skip
    assert slots["发布"].sum() == official["posts"][0]


def test_topic_days_equal_the_mart(demo, marts, quarter) -> None:
    got = sheet(_xlsx(demo, "hq"), "话题与节假日")
    kinds = {"法定节假日": "holiday", "活动上线期": "campaign_launch", "普通日": "ordinary"}
    got = got.assign(kind=got["发布日"].map(kinds)).set_index(["层级", "kind"])
    want = _q(marts, "select * from marts.mart_topic_days where quarter_label = ?", [quarter]).set_index(
        ["matrix_tier", "day_kind"]
    )
    assert set(got.index) == set(want.index)
    assert "holiday" in {k for _, k in want.index}
    for key, w in want.iterrows():
        g = got.loc[key]
        for header, col in (("发布", "posts"), ("播放", "views"), ("互动", "engagements"), ("线索", "leads"),
                            ("条均播放", "views_per_post"), ("互动率", "interaction_rate"),
                            ("条均线索", "leads_per_post"), ("条均播放 ÷ 普通日", "views_per_post_vs_ordinary"),
                            ("平均已加载天数", "avg_days_loaded")):  # fmt: skip
            assert _close(g[header], w[col]), (key, header)


def test_campaigns_equal_the_mart_and_platforms_add_up(demo, marts, quarter) -> None:
    xlsx = _xlsx(demo, "hq")
    year, q = int(quarter[:4]), int(quarter[-1])
    start = pd.Timestamp(year, 3 * q - 2, 1).date()
    end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
    want = _q(marts, "select * from marts.mart_campaign_reach where starts_on between ? and ?", [start, end])
    got = sheet(xlsx, "跨平台联动").set_index("活动编码")
    assert set(got.index) == set(want["campaign_code"]) and len(want) > 0
    figures = (("达人合作", "creator_deals"), ("达人费用（元）", "creator_cost_yuan"), ("曝光", "exposure"),
               ("互动", "engagements"), ("线索", "leads"), ("有效线索", "valid_leads"), ("下订", "orders"),
               ("有效线索成本（元）", "cost_per_valid_lead"))  # fmt: skip
    names = dict(
        _q(marts, "select platform, platform_name_cn from marts.dim_platform", []).itertuples(index=False)
    )
    for w in want.to_dict("records"):
        g = got.loc[w["campaign_code"]]
        # the platforms by display name, in the mart's order
        assert g["平台"] == "、".join(names[code] for code in w["platforms"].split(",")), w["campaign_code"]
        assert g["平台数"] == w["n_platforms"]
        assert g["仅单一平台"] == ("是" if w["is_single_platform"] else "否")
        for header, col in figures:
            assert _close(g[header], w[col]), (w["campaign_code"], header)
    cells = sheet(xlsx, "跨平台联动-平台")
    for code, part in cells.groupby("活动编码"):
        for header in ("达人合作", "达人费用（元）", "线索", "有效线索", "下订"):
            assert _close(part[header].sum(), got.loc[code, header]), (code, header)


def test_top_topic_posts_equal_the_mart(demo, marts, quarter) -> None:
    got = sheet(_xlsx(demo, "hq"), "话题Top内容")
    want = _q(marts, "select day_kind, post_rank, title, views, engagements, leads from marts.mart_topic_posts_top "
                     "where quarter_label = ?", [quarter])  # fmt: skip
    assert len(got) == len(want) > 0
    kinds = {"法定节假日": "holiday", "活动上线期": "campaign_launch"}
    got_rows = sorted(
        (kinds[r["发布日"]], r["名次"], r["标题"], r["播放"], r["互动"], r["线索"])
        for r in got.to_dict("records")
    )
    want_rows = sorted(tuple(r) for r in want.itertuples(index=False))
    assert got_rows == want_rows
