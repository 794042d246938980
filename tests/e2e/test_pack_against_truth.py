"""The demo's HQ pack and one regional pack, read back from the XLSX, against the simulator's
ground truth (`_manifest.json` → truth) directly: no mart and no query of the project in between.

tests/e2e/test_marts_against_truth.py holds the marts to the truth and test_pack_against_marts.py
holds the XLSX to the marts; this module closes truth → pack on the numbers a reader sees: the
headline (本季度 and the quarter before), the tier, platform and region tables and every funnel
cut, each cell equal to the truth or to the KPI's stated formula over truth counts (a rate is
stage ÷ valid leads, the interaction rate engagements ÷ views). The national median response is
the one headline figure the truth cannot rebuild from its cells (a median does not add up); the
regional pack's median is checked, it is a truth cell. And in every sheet, each breakdown's rows
add up to the truth's total.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.test_pack_against_marts import REGION, REGION_ID, _xlsx, same, sheet

pytestmark = pytest.mark.slow
COUNTS = ("leads", "valid_leads", "arrivals", "test_drives", "orders", "deliveries", "followed_within_24h")
CONTENT = ("exposure", "views", "engagements")
# the XLSX headers of the funnel sheets -> a truth count, or a rate over valid leads
FUNNEL_HEADERS = {"线索": "leads", "有效线索": "valid_leads", "到店": "arrivals", "试驾": "test_drives",
                  "下订": "orders", "交车": "deliveries", "到店率": ("arrivals",), "试驾率": ("test_drives",),
                  "订单转化率": ("orders",), "交车率": ("deliveries",), "24h 跟进率": ("followed_within_24h",)}  # fmt: skip
NO_TIER, NO_PLATFORM = "未归属", "其他渠道"


def _sum(cells) -> Counter:
    total: Counter = Counter()
    for c in cells:
        total.update({k: v for k, v in c.items() if k in COUNTS + CONTENT + ("accounts", "active_accounts")})
    return total


def _rate(num, den):
    return num / den if den else None


def _value(figures: Counter, spec):
    if isinstance(spec, tuple):
        return _rate(figures[spec[0]], figures["valid_leads"])
    return figures[spec]


@pytest.fixture(scope="module")
def truth(demo: dict) -> dict:
    return demo["manifest"]["truth"]


@pytest.fixture(scope="module")
def label(demo: dict) -> str:
    return _xlsx(demo, "hq").parent.parent.name


@pytest.fixture(scope="module")
def platform_cn() -> dict[str, str]:
    """The Chinese platform names the pack prints: the contract's (the seed platforms.csv is generated from it)."""
    from matrix_pulse.sources import PLATFORMS

    return {**PLATFORMS, "other": NO_PLATFORM}


def _previous(label: str) -> str:
    year, q = int(label[:4]), int(label[-1])
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


def _cuts(truth: dict, q: str) -> dict[str, dict[str, Counter]]:
    """Truth per tier, platform and region for quarter ``q`` (content, leads and accounts merged)."""
    c, ld, a = (truth[k]["by_tier"].get(q, {}) for k in ("content_by_quarter", "leads_by_quarter",
                                                          "accounts_by_quarter"))  # fmt: skip
    tiers: dict[str, Counter] = {}
    platforms: dict[str, Counter] = {}
    for source in (c, ld, a):
        for p, by_tier in source.items():
            for t, figures in by_tier.items():
                tier = NO_TIER if t == "none" else t
                tiers.setdefault(tier, Counter()).update(_sum([figures]))
                platforms.setdefault(p, Counter()).update(_sum([figures]))
    regions: dict[str, Counter] = {}
    for key in ("content_by_quarter", "leads_by_quarter"):
        for r, figures in truth[key]["by_region"].get(q, {}).items():
            regions.setdefault(r, Counter()).update(_sum([figures]))
    medians = {
        r: f.get("median_response_minutes")
        for r, f in truth["leads_by_quarter"]["by_region"].get(q, {}).items()
    }
    return {"tier": tiers, "platform": platforms, "region": regions, "region_median": medians}


def _assert_rows(xlsx, key: str, expected: dict[str, Counter], headers: dict, where: str) -> None:
    """Each truth row's cells equal the sheet's; a sheet row the truth does not have shows nothing."""
    got = xlsx.set_index(key)
    bad = []
    for name, figures in expected.items():
        if not any(figures[v] for v in ("exposure", "leads", "accounts")):
            continue  # a segment with nothing in the quarter may be left out or shown empty
        if name not in got.index:
            bad.append((where, name, "missing row"))
            continue
        for header, spec in headers.items():
            if not same(got.loc[name, header], _value(figures, spec)):
                bad.append((where, name, header, got.loc[name, header], _value(figures, spec)))
    for name in set(got.index) - set(expected):
        shown = [got.loc[name, h] for h, s in headers.items() if not isinstance(s, tuple)]
        if any(v not in (None, 0, 0.0) and v == v for v in shown):
            bad.append((where, name, "row not in the truth", shown))
    assert bad == [], bad[:10]


def _assert_adds_up(xlsx, headers: dict[str, float], where: str) -> None:
    for header, total in headers.items():
        assert same(float(xlsx[header].fillna(0).sum()), float(total)), (where, header)


def test_hq_pack_equals_the_truth(demo, truth, label, platform_cn) -> None:
    path = _xlsx(demo, "hq")
    cuts = _cuts(truth, label)
    total = _sum(cuts["region"].values())
    # every lead has a dealer and so a region; every cut holds all of them
    assert _sum(cuts["tier"].values())["valid_leads"] == total["valid_leads"] > 0
    assert _sum(cuts["platform"].values())["exposure"] == total["exposure"] > 0

    kpis = sheet(path, "核心指标").set_index("指标")
    for column, q in (("本季度", label), ("上季度", _previous(label))):
        t = _sum(_cuts(truth, q)["region"].values())
        assert same(kpis.loc["总曝光", column], float(t["exposure"])), (column, q)
        assert same(kpis.loc["互动率", column], _rate(t["engagements"], t["views"])), (column, q)
        assert same(kpis.loc["有效线索", column], float(t["valid_leads"])), (column, q)
        assert same(kpis.loc["线索→订单转化率", column], _rate(t["orders"], t["valid_leads"])), (column, q)
        assert same(kpis.loc["24 小时跟进率", column], _rate(t["followed_within_24h"], t["valid_leads"])), (
            column,
            q,
        )

    tiers = sheet(path, "矩阵视图")
    _assert_rows(tiers, "矩阵层级", cuts["tier"], {"账号数": "accounts", "活跃账号": "active_accounts",
                 "曝光": "exposure", "互动量": "engagements", "线索": "leads", "有效线索": "valid_leads",
                 "订单转化率": ("orders",)}, "hq/矩阵视图")  # fmt: skip
    accounts = _sum(cuts["tier"].values())["accounts"]
    _assert_adds_up(tiers, {"账号数": accounts, "曝光": total["exposure"], "互动量": total["engagements"],
                            "线索": total["leads"], "有效线索": total["valid_leads"]}, "hq/矩阵视图")  # fmt: skip

    plats = sheet(path, "平台对比")
    by_name = {platform_cn[p]: f for p, f in cuts["platform"].items()}
    _assert_rows(plats, "平台", by_name, {"曝光": "exposure", "互动量": "engagements", "线索": "leads",
                 "有效线索": "valid_leads", "订单转化率": ("orders",)}, "hq/平台对比")  # fmt: skip
    _assert_adds_up(plats, {"曝光": total["exposure"], "线索": total["leads"], "有效线索": total["valid_leads"]},
                    "hq/平台对比")  # fmt: skip

    regions = sheet(path, "大区对比")
    region_headers = {"曝光": "exposure", "有效线索": "valid_leads", "到店率": ("arrivals",),
                      "试驾率": ("test_drives",), "订单转化率": ("orders",), "交车率": ("deliveries",)}  # fmt: skip
    _assert_rows(regions, "大区", cuts["region"], region_headers, "hq/大区对比")
    got = regions.set_index("大区")
    for r, median in cuts["region_median"].items():
        assert same(got.loc[r, "响应中位数（分钟）"], median), r
        f = cuts["region"][r]
        assert same(got.loc[r, "互动率"], _rate(f["engagements"], f["views"])), r
    _assert_adds_up(regions, {"曝光": total["exposure"], "有效线索": total["valid_leads"]}, "hq/大区对比")

    for name, header, expected in (("漏斗-平台", "来源平台", by_name), ("漏斗-层级", "来源层级", cuts["tier"]),
                                   ("漏斗-大区", "大区", cuts["region"])):  # fmt: skip
        funnel = sheet(path, name)
        with_leads = {k: f for k, f in expected.items() if f["leads"]}  # 总部 has content, never leads
        _assert_rows(funnel, header, with_leads, FUNNEL_HEADERS, f"hq/{name}")
        _assert_adds_up(funnel, {h: total[c] for h, c in FUNNEL_HEADERS.items() if isinstance(c, str)},
                        f"hq/{name}")  # fmt: skip
    got = sheet(path, "漏斗-大区").set_index("大区")
    for r, median in cuts["region_median"].items():
        assert same(got.loc[r, "响应中位数（分钟）"], median), r


def test_regional_pack_headline_equals_the_truth(demo, truth, label) -> None:
    path = _xlsx(demo, REGION_ID)
    kpis = sheet(path, "核心指标").set_index("指标")
    for column, q in (("本季度", label), ("上季度", _previous(label))):
        cuts = _cuts(truth, q)
        f = cuts["region"][REGION]
        assert same(kpis.loc["总曝光", column], float(f["exposure"])), (column, q)
        assert same(kpis.loc["互动率", column], _rate(f["engagements"], f["views"])), (column, q)
        assert same(kpis.loc["有效线索", column], float(f["valid_leads"])), (column, q)
        assert same(kpis.loc["线索→订单转化率", column], _rate(f["orders"], f["valid_leads"])), (column, q)
        assert same(kpis.loc["首次响应时长（中位数，有效线索）", column], cuts["region_median"][REGION]), (
            column,
            q,
        )
        assert same(kpis.loc["24 小时跟进率", column], _rate(f["followed_within_24h"], f["valid_leads"])), (
            column,
            q,
        )
    # the region's own breakdowns add up to its truth
    f = _cuts(truth, label)["region"][REGION]
    for name in ("矩阵视图", "平台对比", "漏斗-平台", "漏斗-层级"):
        _assert_adds_up(sheet(path, name), {"有效线索": f["valid_leads"]}, f"{REGION_ID}/{name}")
    for name in ("矩阵视图", "平台对比"):
        _assert_adds_up(sheet(path, name), {"曝光": f["exposure"]}, f"{REGION_ID}/{name}")
