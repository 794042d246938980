"""The pack's numbers equal the marts', and a regional pack holds only its own dealers."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report.audiences import Audience, GateConfig, PackConfig
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
    recs = {r.rule.split("（")[0]: r for r in packs["hq"].recommendations}
    assert "每有效线索成本" in recs["规则 4"].evidence[0]
    # The fixture silences the two NB005 accounts and one KOC from 2026-08-10.
    assert "3 个账号" in recs["规则 11"].title
    assert "24 小时跟进率" in recs["规则 9"].rule and recs["规则 9"].evidence


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


# The creator rows in the PDF's documented order: cost, highest first; ties on the mart's key.
CREATOR_ORDER_SQL = """
    select r.account_name, coalesce(c.campaign_name, r.campaign_code), r.cost_yuan
    from marts.mart_creator_roi r left join marts.dim_campaign c using (campaign_code)
    where r.quarter_label = '2026Q3' order by r.cost_yuan desc, r.platform, r.account_id, r.campaign_code"""


def _creator_section(html: str) -> tuple[list[list[str]], str]:
    """The cells of the PDF's 达人 ROI table, and the text between that table and the next heading."""
    import re

    table, rest = html.split("<h2>达人 ROI</h2>", 1)[1].split("</table>", 1)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows], rest.split("<h3>", 1)[0]


def test_pdf_prints_the_top_creators_by_cost_and_the_xlsx_holds_all(con, tmp_path: Path) -> None:
    """The PDF lists the first N creator deals by cost and says how many there are; the XLSX
    (sheet 达人ROI) has every row of the mart, in the same order."""
    import re

    import pypdf
    from matrix_pulse.report import fmt
    from matrix_pulse.report.render import render_pack
    from python_calamine import CalamineWorkbook

    expected = con.execute(CREATOR_ORDER_SQL).fetchall()
    n = 4
    assert len(expected) > n, "the fixture needs more creator rows than the PDF prints"
    pack = build_pack(con, Q3, HQ, GateConfig(), PackConfig(creator_rows_in_pdf=n))
    files = render_pack(pack, 1, tmp_path)
    # render_pdf lays out exactly this HTML (it archives what it renders), so its rows are the PDF's.
    html = (tmp_path / "MatrixPulse_2026Q3_hq_issue1.html").read_text(encoding="utf-8")
    cells, after = _creator_section(html)
    assert [(r[0], r[2], r[4]) for r in cells] == [(a, c, fmt.yuan(y)) for a, c, y in expected[:n]]
    total_line = f"本表列出前 {n} 行，共 {len(expected):,} 行；完整名单见随附 Excel 工作表“达人ROI”。"
    assert total_line in after
    pdf_text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(files.pdf).pages))
    assert re.sub(r"\s+", "", total_line) in pdf_text
    assert f"共{len(expected)}行、{len({a for a, _c, _y in expected})}位达人" in pdf_text  # the table's note

    sheet = CalamineWorkbook.from_path(str(files.xlsx)).get_sheet_by_name("达人ROI").to_python()
    data, after_data = sheet[1 : 1 + len(expected)], sheet[1 + len(expected) :]
    assert [(r[0], r[3], r[8]) for r in data] == expected  # every row, same order, raw numbers
    assert all(c == "" for c in after_data[0])  # and no more rows: then the note
    total_rows = con.execute("select count(*) from marts.mart_creator_roi where quarter_label = '2026Q3'")
    assert len(data) == total_rows.fetchone()[0]


def test_creator_ties_on_cost_break_on_the_marts_key(fixture_db: Path, tmp_path: Path) -> None:
    """Deals of equal cost keep one order (platform, account, campaign), so a rebuilt pack
    prints the same rows; checked with every deal of the quarter at the same cost."""
    import shutil

    from matrix_pulse.report import queries

    db = tmp_path / "ties.duckdb"
    shutil.copy(fixture_db, db)
    with duckdb.connect(str(db)) as rw:
        rw.execute("update marts.mart_creator_roi set cost_yuan = 50000 where quarter_label = '2026Q3'")
        keys = list(
            queries.creator_roi(rw, Q3)[["platform", "account_id", "campaign_code"]].itertuples(index=False)
        )
    assert len(keys) > 2 and keys == sorted(keys)


def _title_glyph_height(pdf: Path) -> float:
    """The printed height of the cover title's first character (page 1), in PDF points."""
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(str(pdf))[0]
    text = page.get_textpage()
    first = text.get_text_range().index("2026年")
    _left, bottom, _right, top = text.get_charbox(first)
    return top - bottom


def test_a_long_unbreakable_value_wraps_in_its_cell_and_does_not_shrink_the_pdf(con, tmp_path: Path) -> None:
    """A text cell holding one long word (the campaigns' platform list once was 60 letters
    without a space) wraps; otherwise Chromium shrinks every page of the pack to fit the table."""
    from matrix_pulse.report.render import render_pack

    plain = render_pack(build_pack(con, Q3, HQ, GateConfig()), 1, tmp_path / "plain")
    pack = build_pack(con, Q3, HQ, GateConfig())
    table = next(
        t for t in pack.tables.values() if any(c.kind == "text" for c in t.printed_columns()) and len(t.df)
    )
    column = next(c.key for c in table.printed_columns() if c.kind == "text")
    table.df[column] = table.df[column].astype(object)
    table.df.loc[table.df.index[0], column] = "bilibili,douyin,kuaishou,wechat_channels," * 6
    if len(table.df) > 1:  # a blank value longer than 20 characters has no word at all
        table.df.loc[table.df.index[1], column] = " " * 30
    long = render_pack(pack, 1, tmp_path / "long")
    html = (tmp_path / "long" / "MatrixPulse_2026Q3_hq_issue1.html").read_text("utf-8")
    assert 'class="text long">bilibili,douyin,kuaishou,wechat_channels,bilibili' in html
    plain_html = (tmp_path / "plain" / "MatrixPulse_2026Q3_hq_issue1.html").read_text("utf-8")
    # only cells with a long word may break inside words (the GX table's expectation names do)
    assert html.count('class="text long"') == plain_html.count('class="text long"') + 1
    plain_height, long_height = _title_glyph_height(plain.pdf), _title_glyph_height(long.pdf)
    assert plain_height > 10  # the 24 pt title
    assert abs(long_height - plain_height) / plain_height < 0.01, (plain_height, long_height)
