"""The content rules of the advice (rule 2: content type, rule 12: content length by title
length) on the fixture marts: the figures they print are the marts' own (this test's SQL), they
fire exactly when the stated threshold says so, and the length table adds up to the headline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report import fmt
from matrix_pulse.report.advice import load_advice_config
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter

Q3 = Quarter.parse("2026Q3")
HQ = Audience("hq", "总部市场部", "national", ("cmo@example.com",))
EAST = Audience("huadong", "华东大区", "region", ("east@example.com",), "华东")

BANDS_SQL = """
    select case when d.title is null or d.title = '' then '无标题'
                when length(d.title) <= ? then 'short' when length(d.title) <= ? then 'medium' else 'long' end as band,
           count(distinct f.platform || ':' || f.post_id) as items, sum(f.views) as views, sum(f.engagements) as eng
    from marts.fct_content_daily f
    left join (select distinct platform, post_id, title from marts.mart_content_top) d using (platform, post_id)
    where f.date_day between '2026-07-01' and '2026-09-30'{where} group by 1"""


@pytest.fixture(scope="module")
def con(fixture_db: Path):
    with duckdb.connect(str(fixture_db), read_only=True) as c:
        yield c


def _rule(pack, number: int):
    return next(r for r in pack.recommendations if r.rule.startswith(f"规则 {number}（"))


def _network_rate(con) -> float:
    v, e = con.execute(
        "select sum(views), sum(engagements) from marts.fct_content_daily "
        "where date_day between '2026-07-01' and '2026-09-30'"
    ).fetchone()
    return e / v


@pytest.mark.parametrize("audience", [HQ, EAST], ids=["hq", "huadong"])
def test_length_bands_equal_the_marts_and_add_up(con, audience) -> None:
    cfg = load_advice_config()
    assert (cfg.title_short_max_chars, cfg.title_medium_max_chars) == (15, 30)
    pack = build_pack(con, Q3, audience, GateConfig())
    where, params = (" and f.region = ?", [audience.region]) if audience.region else ("", [])
    rows = con.execute(BANDS_SQL.format(where=where), [15, 30, *params]).fetchall()
    names = {"short": "≤15 字", "medium": "16–30 字", "long": ">30 字", "无标题": "无标题"}
    expected = {names[b]: (items, views, eng) for b, items, views, eng in rows}
    table = pack.tables["title_length"].df.set_index("title_band")
    got = {k: (r["items"], r["views"], r["engagements"]) for k, r in table.iterrows() if r["items"]}
    assert got == expected
    assert table["views"].sum() == pack.reach["views"]
    assert table["engagements"].sum() == pack.reach["engagements"]
    # the evidence prints each band's own rate
    rule = _rule(pack, 12)
    for band, (_, views, eng) in expected.items():
        assert f"{band}：" in " ".join(rule.evidence) and fmt.pct(eng / views) in " ".join(rule.evidence)


def test_length_rule_fires_exactly_at_its_threshold(con) -> None:
    base = load_advice_config()
    net = _network_rate(con)
    rows = con.execute(BANDS_SQL.format(where=""), [15, 30]).fetchall()
    rates = {b: e / v for b, items, v, e in rows if items >= 1 and v}
    # a factor that puts the cut just above the lowest band's rate fires for that band only
    lowest = min(rates, key=rates.get)
    factor = (rates[lowest] + 1e-9) / net
    assert all(r > rates[lowest] + 1e-9 for b, r in rates.items() if b != lowest), "bands must differ"
    cfg = replace(base, title_length_factor=factor, title_length_min_items=1)
    fired = _rule(build_pack(con, Q3, HQ, GateConfig(), advice_cfg=cfg), 12)
    label = {"short": "≤15 字", "medium": "16–30 字", "long": ">30 字", "无标题": "无标题"}[lowest]
    assert fired.triggered and fired.title.startswith(label + " 标题"), fired.title
    assert f"< {fmt.pct(net * factor)}" in fired.rule
    # with a factor of 0 nothing can be below the cut; with min_items above every band, nothing counts
    for quiet in (replace(base, title_length_factor=0.0), replace(base, title_length_min_items=10**9)):
        rec = _rule(build_pack(con, Q3, HQ, GateConfig(), advice_cfg=quiet), 12)
        assert not rec.triggered and rec.title.startswith("未触发")


def test_content_type_rule_fires_at_its_threshold_with_the_marts_numbers(con) -> None:
    base = load_advice_config()
    net = _network_rate(con)
    types = {t: (n, e / v) for t, n, v, e in con.execute(
        "select content_type, count(distinct platform || ':' || post_id), sum(views), sum(engagements) "
        "from marts.fct_content_daily where date_day between '2026-07-01' and '2026-09-30' group by 1").fetchall()}  # fmt: skip
    rec = _rule(build_pack(con, Q3, HQ, GateConfig()), 2)
    for t, (n, rate) in types.items():
        assert any(
            line.startswith(f"{t}：{fmt.count(n)} 条，互动率 {fmt.pct(rate)}，") for line in rec.evidence
        )
    expected = {t for t, (n, rate) in types.items() if n >= base.content_type_min_items
                and rate < net * base.content_type_factor}  # fmt: skip
    assert rec.triggered == bool(expected)
    # raise the factor until every type with enough items is below the cut: all of them fire
    everyone = replace(base, content_type_factor=10.0, content_type_min_items=1)
    rec = _rule(build_pack(con, Q3, HQ, GateConfig(), advice_cfg=everyone), 2)
    assert rec.triggered and all(t in rec.title for t in types)
