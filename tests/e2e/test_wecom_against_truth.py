"""The WeCom private-domain marts of `make demo` against the simulator's truth (manifest
``truth.wecom``): every consultant-quarter cell and every dealer-quarter lead funnel, and the
breakdowns add up (attribution to new contacts, WeCom + other to valid leads)."""

from __future__ import annotations

import math

import duckdb
import pytest

pytestmark = pytest.mark.slow

CONSULTANT_COUNTS = ("new_contacts", "chats", "messages", "negative_feedback")
ATTRIBUTION = {"contacts_from_live": "contacts_from_live", "contacts_from_post": "contacts_from_post",
               "contacts_from_campaign": "contacts_from_campaign",
               "contacts_unattributed": "contacts_from_unattributed"}  # fmt: skip
STAGES = ("valid_leads", "arrivals", "test_drives", "orders", "deliveries")


@pytest.fixture(scope="module")
def marts(demo: dict):
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def truth(demo: dict) -> dict:
    return demo["manifest"]["truth"]["wecom"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _close(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def check_consultants(con: duckdb.DuckDBPyConnection, truth: dict) -> int:
    rows = _rows(con, "SELECT * FROM marts.mart_wecom_consultant_period")
    got = {(r["quarter_label"], r["dealer_code"], r["userid"]): r for r in rows}
    want = {(q, d, u): cell for q, by_d in truth["consultants"].items() for d, by_u in by_d.items()
            for u, cell in by_u.items()}  # fmt: skip
    assert set(got) == set(want)
    for key, cell in want.items():
        row = got[key]
        for c in CONSULTANT_COUNTS:
            assert row[c] == cell[c], (key, c, row[c], cell[c])
        assert row["chats_with_reply_figures"] == cell["chats_with_reply_figures"], key
        for column, name in ATTRIBUTION.items():
            assert row[column] == cell[name], (key, column, row[column], cell[name])
        assert sum(row[c] for c in ATTRIBUTION) == row["new_contacts"], key  # the breakdown adds up
        assert _close(row["reply_rate"], cell["reply_rate"]), (key, row["reply_rate"], cell["reply_rate"])
        assert _close(row["avg_reply_minutes"], cell["avg_reply_minutes"]), key
    return len(want)


def check_lead_funnel(con: duckdb.DuckDBPyConnection, truth: dict) -> int:
    rows = _rows(con, "SELECT * FROM marts.mart_wecom_lead_funnel")
    got = {(r["quarter_label"], r["dealer_code"]): r for r in rows}
    want = {(q, d): cell for q, by_d in truth["leads"].items() for d, cell in by_d.items()}
    assert set(got) == set(want)
    wecom_leads = 0
    for key, cell in want.items():
        row = got[key]
        for group in ("wecom", "other"):
            for stage in STAGES:
                assert row[f"{stage}_{group}"] == cell.get(f"{stage}_{group}", 0), (key, stage, group)
        assert row["valid_leads"] == row["valid_leads_wecom"] + row["valid_leads_other"], key
        assert _close(row["wecom_share"], row["valid_leads_wecom"] / row["valid_leads"]), key
        wecom_leads += row["valid_leads_wecom"]
    assert wecom_leads > 0, "no valid lead matched a WeCom contact: the phone hashes do not meet"
    return len(want)


def test_wecom_consultant_mart_equals_truth(marts, truth) -> None:
    assert check_consultants(marts, truth) > 0


def test_wecom_lead_funnel_mart_equals_truth(marts, truth) -> None:
    assert check_lead_funnel(marts, truth) > 0


def test_demo_pack_wecom_section_equals_the_marts(marts) -> None:
    """The HQ pack of the demo's last quarter: the section's totals are the marts' (and so the truth's)."""
    from matrix_pulse.report.audiences import Audience, GateConfig
    from matrix_pulse.report.pack import build_pack
    from matrix_pulse.report.quarters import Quarter

    pack = build_pack(marts, Quarter.parse("2026Q3"), Audience("hq", "总部", "national", ("hq@example.com",)),
                      GateConfig())  # fmt: skip
    contacts, chats = marts.execute(
        "SELECT sum(new_contacts), sum(chats) FROM marts.mart_wecom_consultant_period WHERE quarter_label = '2026Q3'"
    ).fetchone()
    assert pack.wecom["new_contacts"] == contacts > 0 and pack.wecom["chats"] == chats
    assert sum(pack.wecom["attributed"].values()) == contacts
    wecom, valid = marts.execute(
        "SELECT sum(valid_leads_wecom), sum(valid_leads) FROM marts.mart_wecom_lead_funnel WHERE quarter_label = '2026Q3'"
    ).fetchone()
    assert list(pack.tables["wecom_lead_funnel"].df["valid_leads"]) == [wecom, valid - wecom]
