"""The pack's 私域运营 section: its numbers equal the WeCom marts, its breakdowns add up, the
regional pack holds only its region, the reply-time rule states its threshold, and the HTML
(the PDF's layout), the PDF and the XLSX all carry the section."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report import fmt
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.wecom import ATTRIBUTION

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


def test_dealer_rows_equal_the_consultant_mart_and_add_up(con, packs) -> None:
    for pack, region in ((packs["hq"], None), (packs["huadong"], "华东")):
        dealers = pack.tables["wecom_dealers"].df.set_index("dealer_code")
        where = "and region = ?" if region else ""
        rows = con.execute(
            "select dealer_code, sum(new_contacts), sum(chats), "
            "sum(avg_reply_minutes * chats_with_reply_figures) / sum(chats_with_reply_figures) "
            f"from marts.mart_wecom_consultant_period where quarter_label = '2026Q3' {where} group by 1",
            [region] if region else [],
        ).fetchall()
        assert set(dealers.index) == {r[0] for r in rows}
        for code, contacts, chats, minutes in rows:
            assert dealers.loc[code, "new_contacts"] == contacts
            assert dealers.loc[code, "chats"] == chats
            assert dealers.loc[code, "avg_reply_minutes"] == pytest.approx(minutes)
        # the attribution breakdown adds up to new contacts, row by row and in the headline
        assert (dealers[[c for c, _ in ATTRIBUTION]].sum(axis=1) == dealers["new_contacts"]).all()
        assert (
            sum(pack.wecom["attributed"].values())
            == pack.wecom["new_contacts"]
            == dealers["new_contacts"].sum()
        )
    assert set(packs["huadong"].tables["wecom_consultants"].df["region"]) == {"华东"}


def test_lead_funnel_rows_equal_the_mart_and_add_up(con, packs) -> None:
    funnel = packs["hq"].tables["wecom_lead_funnel"].df
    wecom, other, orders_wecom = con.execute(
        "select sum(valid_leads_wecom), sum(valid_leads_other), sum(orders_wecom) "
        "from marts.mart_wecom_lead_funnel where quarter_label = '2026Q3'"
    ).fetchone()
    assert list(funnel["valid_leads"]) == [wecom, other]
    assert funnel["orders"].iloc[0] == orders_wecom
    assert funnel["orders_rate"].iloc[0] == pytest.approx(orders_wecom / wecom)
    valid = con.execute(
        "select count(*) from marts.fct_leads where is_valid and created_date between '2026-07-01' and '2026-09-30'"
    ).fetchone()[0]
    assert wecom + other == valid  # the two groups are every valid lead
    assert packs["hq"].wecom["wecom_share"] == pytest.approx(wecom / valid)


def test_reply_time_rule_states_its_threshold_and_names_the_slow_dealers(packs) -> None:
    rec = next(r for r in packs["hq"].recommendations if r.category == "私域")
    assert "30 分钟" in rec.rule or fmt.minutes(30) in rec.rule
    dealers = packs["hq"].tables["wecom_dealers"].df
    slow = dealers[(dealers["chats"] >= 20) & (dealers["avg_reply_minutes"] > 30)]
    assert rec.triggered == (len(slow) > 0) and len(slow) > 0  # the fixture has slow consultants
    for name in slow.sort_values("avg_reply_minutes", ascending=False)["dealer_name"].head(5):
        assert any(name in e for e in rec.evidence)


def test_mail_carries_the_section_sentences(packs) -> None:
    from matrix_pulse.report.render import render_mail_html

    pack = packs["hq"]
    html = render_mail_html(pack, 1)
    assert "私域运营（企业微信）" in html
    for line in pack.wecom["lines"]:
        assert line in html
    assert fmt.count(pack.wecom["new_contacts"]) in pack.wecom["lines"][0]


def test_section_is_in_the_html_pdf_and_xlsx(con, packs, tmp_path: Path) -> None:
    import pypdf
    from matrix_pulse.report.render import render_pack
    from python_calamine import CalamineWorkbook

    pack = packs["hq"]
    files = render_pack(pack, 1, tmp_path)
    html = (tmp_path / "MatrixPulse_2026Q3_hq_issue1.html").read_text(encoding="utf-8")
    assert "私域运营：企业微信" in html and fmt.count(pack.wecom["new_contacts"]) in html
    pdf_text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(files.pdf).pages))
    assert "私域运营" in pdf_text
    book = CalamineWorkbook.from_path(str(files.xlsx))
    for sheet in ("私域-经销商", "私域-顾问", "私域-线索漏斗"):
        assert sheet in book.sheet_names
    consultants = book.get_sheet_by_name("私域-顾问").to_python()
    n = con.execute("select count(*) from marts.mart_wecom_consultant_period where quarter_label = '2026Q3'")
    assert sum(1 for r in consultants[1:] if r[1]) >= n.fetchone()[0]  # every consultant row
