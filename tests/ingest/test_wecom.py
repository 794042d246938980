"""The WeCom private-domain export (wecom_contacts_YYYYMMDD.json) through the real loader.

One JSON object feeds four raw tables; external_userid and every remark_mobiles phone are
hashed at load with the CRM phones' key and normalisation, so a contact matches the lead
of the same person; a truncated file, a missing key and junk phones are handled as the
contract says, and every file reconciles (rows read = loaded + set aside).
"""

from __future__ import annotations

import datetime as dt
import json

from matrix_pulse.ingest import run_ingest
from matrix_pulse.settings import Settings

from .conftest import assert_reconciles, query
from .fixtures import file_path, good_rows, write_csv

D = dt.date(2026, 7, 1)
STAT = int(dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC).timestamp())  # 2026-07-01 00:00 Shanghai


def wecom_doc() -> dict:
    return {
        "members": [
            {"userid": "gw1", "department": "D100", "status": 1},
            {"userid": "gw2", "department": "D101", "status": 4},
        ],
        "behavior": [
            {"userid": "gw1", "stat_time": STAT, "new_apply_cnt": 3, "new_contact_cnt": 3, "chat_cnt": 4,
             "message_cnt": 12, "reply_percentage": 1, "avg_reply_time": 12.5, "negative_feedback_cnt": 0},
            # a day without chats: the API leaves reply_percentage and avg_reply_time out
            {"userid": "gw2", "stat_time": STAT, "new_apply_cnt": 0, "new_contact_cnt": 0, "chat_cnt": 0,
             "message_cnt": 0, "negative_feedback_cnt": 0},
        ],
        "contacts": [
            {"external_userid": "wmAAA111", "userid": "gw1", "add_time": STAT + 3600, "add_way": 1,
             "state": "live_7300000000000000001", "remark_mobiles": ["+86 138 1234 5678", "123"]},
            {"external_userid": "wmBBB222", "userid": "gw1", "add_time": STAT + 7200, "add_way": 2,
             "state": "门店海报 13912345678 ", "remark_mobiles": []},
            {"external_userid": "wmCCC333", "userid": "gw1", "add_time": STAT + 9000, "add_way": 201,
             "state": "", "remark_mobiles": ["无"]},
        ],
    }  # fmt: skip


def write_doc(settings: Settings, doc: dict | str, day: dt.date = D) -> None:
    path = file_path(settings.landing_dir, "wecom_contacts", day)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_wecom_file_loads_four_tables_with_pii_hashed(settings: Settings) -> None:
    doc = wecom_doc()
    doc["contacts"].append(dict(doc["contacts"][0]))  # an exact duplicate record: set aside
    write_doc(settings, doc)
    crm = good_rows("crm_dcc", D, 1)
    crm[0]["Phone"] = "13812345678"  # the same person as contact wmAAA111
    write_csv(settings.landing_dir, "crm_dcc", D, crm)
    run_ingest(settings)
    assert_reconciles(settings)
    assert query(settings, "SELECT userid, department, member_status FROM raw.wecom_members ORDER BY 1") == [
        ("gw1", "D100", "1"),
        ("gw2", "D101", "4"),
    ]
    behavior = query(
        settings,
        "SELECT userid, chat_cnt, reply_percentage, avg_reply_minutes FROM raw.wecom_behavior ORDER BY 1",
    )
    # reply_percentage is 0-100 as delivered: 1 stays 1 (one percent), never read as 100 %
    assert behavior == [("gw1", 4, 1.0, 12.5), ("gw2", 0, None, None)]
    contacts = query(
        settings, "SELECT source_row, external_userid_hash, state FROM raw.wecom_contacts ORDER BY source_row"
    )
    assert [c[0] for c in contacts] == [1, 2, 3]
    assert all(c[1] and len(c[1]) == 64 for c in contacts)
    assert contacts[0][2] == "live_7300000000000000001"
    assert contacts[1][2] == "门店海报 139****5678"  # a phone typed into state is scrubbed
    assert contacts[2][2] is None
    quarantined = query(settings, "SELECT raw_table, source_row, reason FROM raw.quarantine ORDER BY 1, 2")
    assert quarantined == [
        ("wecom_contact_mobiles", 4, "exact_duplicate_row"),
        ("wecom_contact_mobiles", 4, "exact_duplicate_row"),
        ("wecom_contacts", 4, "exact_duplicate_row"),
    ]
    mobiles = query(
        settings,
        "SELECT source_row, remark_mobile_masked, remark_mobile_is_valid, remark_mobile_hash IS NOT NULL "
        "FROM raw.wecom_contact_mobiles ORDER BY source_row, remark_mobile_is_valid DESC",
    )
    # junk numbers are kept, flagged invalid, without a hash
    assert mobiles == [(1, "138****5678", True, True), (1, None, False, False), (3, None, False, False)]
    # same key, same normalisation as the CRM: the contact matches the lead by phone hash
    matched = query(
        settings,
        "SELECT count(*) FROM raw.wecom_contact_mobiles m JOIN raw.crm_dcc c ON c.phone_hash = m.remark_mobile_hash",
    )
    assert matched == [(1,)]
    ext = query(settings, "SELECT external_userid_hash FROM raw.wecom_contact_mobiles WHERE source_row = 1")
    assert {e[0] for e in ext} == {contacts[0][1]}
    extras = query(settings, "SELECT extra_columns FROM meta.load_ledger WHERE source = 'wecom_contacts'")
    assert extras[0][0] in (None, [], "")  # the keys the sibling table loads are not "new columns"


def test_truncated_wecom_file_is_set_aside_and_the_day_still_loads(settings: Settings) -> None:
    text = json.dumps(wecom_doc(), ensure_ascii=False)
    write_doc(settings, text[: len(text) // 2])
    write_csv(settings.landing_dir, "crm_dcc", D, good_rows("crm_dcc", D, 2))
    run_ingest(settings)
    assert_reconciles(settings)
    status = dict(query(settings, "SELECT source, status FROM meta.load_ledger"))
    assert status["wecom_contacts"] == "rejected" and status["crm_dcc"] == "loaded"
    reason = query(settings, "SELECT reason FROM meta.load_ledger WHERE source = 'wecom_contacts'")[0][0]
    assert "wecom_contacts_20260701.json" in reason and "invalid JSON" in reason
    assert query(settings, "SELECT count(*) FROM raw.wecom_contacts") == [(0,)]


def test_wecom_contacts_missing_a_required_key_is_rejected_naming_it(settings: Settings) -> None:
    doc = wecom_doc()
    for c in doc["contacts"]:
        del c["add_time"]
    write_doc(settings, doc)
    run_ingest(settings)
    assert_reconciles(settings)
    status, reason = query(
        settings, "SELECT status, reason FROM meta.load_ledger WHERE source = 'wecom_contacts'"
    )[0]
    assert status == "rejected"
    assert "'add_time'" in reason and "'contacts'" in reason
    for table in ("wecom_members", "wecom_behavior", "wecom_contacts", "wecom_contact_mobiles"):
        assert query(settings, f"SELECT count(*) FROM raw.{table}") == [(0,)]


def test_a_contact_with_several_phones_passes_the_quality_checks(settings: Settings) -> None:
    """remark_mobiles is exploded into one row per phone, so a contact with a phone and a junk
    number is two rows of the same (external_userid, userid): the file-uniqueness rule must
    tell them apart by the phone (the demo lost 442 of 457 WeCom days to this rule)."""
    from matrix_pulse.ingest.quality import run_quality

    write_doc(settings, wecom_doc())
    run_ingest(settings)
    run_quality(settings)
    assert_reconciles(settings)
    status = query(settings, "SELECT status FROM meta.load_ledger WHERE source = 'wecom_contacts'")
    assert status == [("loaded",)]
    unique = query(
        settings,
        "SELECT column_name, success FROM meta.gx_results "
        "WHERE raw_table = 'wecom_contact_mobiles' AND expectation = 'expect_compound_columns_to_be_unique'",
    )
    assert unique == [("external_userid_hash,userid,remark_mobile_hash", True)]
    assert query(settings, "SELECT count(*) FROM raw.wecom_contact_mobiles") == [(3,)]
