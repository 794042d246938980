"""A JSON document's records as staged text columns (json_records, what the reader worker runs).

The worker takes a fast path when every record is a flat dict with the same keys in the same
order; these documents are the shapes that must leave it: keys in another order, a key some
records lack, a nested object, a record that is no object, and WeCom's contacts read by two
sources (one of them exploding remark_mobiles) from one parse.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from matrix_pulse.ingest.json_records import read_json_records
from matrix_pulse.ingest.readers import StagedTable
from matrix_pulse.sources import SOURCES


def cells(st: StagedTable) -> list[tuple]:
    """(source_row, each header's text) per staged row, as the loader's INSERT reads them."""
    _stg = st.data  # noqa: F841  (DuckDB's replacement scan)
    cols = ", ".join(st.column(i) for i in range(len(st.headers)))
    return duckdb.sql(f"SELECT source_row, {cols} FROM _stg").fetchall()  # in file order: a scan keeps it


def test_records_with_other_key_orders_missing_keys_and_nested_objects_keep_their_cells() -> None:
    src = SOURCES["bilibili_videos"]
    records = [
        {"bvid": "BV1", "mid": 7, "title": "一", "stat": {"view": 10, "like": 2}},
        {"mid": 8, "bvid": "BV2", "title": "二", "stat": {"like": 3, "view": 11}},  # keys in another order
        {"bvid": "BV3", "mid": 9},  # no title, no stat
        "not an object",  # counts as a record with no cells
        {"bvid": "BV4", "mid": 10, "title": "四", "stat": {"view": 1.5, "like": "1.2万"}},
    ]
    st = read_json_records(Path("bilibili_videos_20260701.json"), records, src, "_stg")
    assert st.headers == ["bvid", "mid", "title", "stat.view", "stat.like"]
    assert st.rows_read == 5
    assert cells(st) == [
        (1, "BV1", "7", "一", "10", "2"),
        (2, "BV2", "8", "二", "11", "3"),
        (3, "BV3", "9", None, None, None),
        (4, None, None, None, None, None),
        (5, "BV4", "10", "四", "1.5", "1.2万"),
    ]


def test_one_parse_of_contacts_feeds_the_contacts_and_each_of_their_phones() -> None:
    doc = {
        "contacts": [
            {"external_userid": "wmA", "userid": "gw1", "add_time": 1, "remark_mobiles": ["138", "139"]},
            {"external_userid": "wmB", "userid": "gw1", "add_time": 2, "remark_mobiles": []},
            {"userid": "gw2", "external_userid": "wmC", "add_time": 3},  # no phones, keys in another order
            {"external_userid": "wmD", "userid": "gw2", "add_time": 4, "remark_mobiles": "137"},
        ]
    }
    seen: dict = {}
    path = Path("wecom_contacts_20260701.json")
    contacts = read_json_records(path, doc, SOURCES["wecom_contacts"], "_stg", seen)
    phones = read_json_records(path, doc, SOURCES["wecom_contact_mobiles"], "_stg", seen)
    assert list(seen) == ["contacts"]  # parsed into columns once for both sources
    assert contacts.headers == phones.headers == ["external_userid", "userid", "add_time", "remark_mobiles"]
    assert cells(contacts) == [
        (1, "wmA", "gw1", "1", '["138", "139"]'),
        (2, "wmB", "gw1", "2", "[]"),
        (3, "wmC", "gw2", "3", None),
        (4, "wmD", "gw2", "4", "137"),
    ]
    # One row per phone, source_row pointing at its record; a contact without phones has none.
    assert phones.rows_read == 3
    assert cells(phones) == [
        (1, "wmA", "gw1", "1", "138"),
        (1, "wmA", "gw1", "1", "139"),
        (4, "wmD", "gw2", "4", "137"),
    ]


def _parse_both_ways(data: bytes, nesting: int, monkeypatch) -> tuple[str, str]:
    """What the worker's parse gives (msgspec first) and what json.loads alone gives (the fast
    parser made to refuse everything): the document's repr, or the rejection's message."""
    from matrix_pulse.ingest import json_records
    from matrix_pulse.ingest.readers import FileRejected

    def parse() -> str:
        try:
            return repr(json_records.parse_json_bounded(data, "doc.json", nesting))
        except FileRejected as exc:
            return f"rejected: {exc}"

    fast = parse()
    with monkeypatch.context() as m:

        def refuse(_data: bytes) -> object:
            raise ValueError("refused")

        m.setattr(json_records, "decode_json_fast", refuse)
        standard = parse()
    return fast, standard


def test_the_fast_parse_accepts_and_refuses_what_json_loads_does(monkeypatch) -> None:
    """msgspec parses the exports first (half json.loads' time): every document, down to the
    nesting limit's edge, comes out as json.loads gives it or is rejected with its message."""
    documents = [
        b'[{"id": 1, "v": 2.5, "n": null, "ok": true, "s": "\\u00e9\\ud83d\\ude00", "big": 123456789012345678901234}]',
        b'\xef\xbb\xbf{"posts": [{"a": 1}], "lives": []}',  # a BOM
        b'{"a": 1, "a": 2}',  # the last of a repeated key
        b"[1e400, -0.0, 2e-400, 1.7976931348623157e308, 0.1]",  # 1e400: inf for json.loads only
        b"[NaN, Infinity]",  # json.loads' extension: msgspec refuses, json.loads decides
        b'["\\ud800"]',  # a lone surrogate
        b'["\xff"]',  # not UTF-8: the message names the byte offset
        b'[{"a": 1},]',  # invalid: the message names line and column
        b'["a\nb"]',  # a raw control character in a string
        b"",
    ]
    for data in documents:
        fast, standard = _parse_both_ways(data, 64, monkeypatch)
        assert fast == standard, data
    outcomes = set()
    for depth in range(40, 80):  # across the nesting limit of 64: the same depth is the last accepted
        data = b"[" * depth + b"]" * depth
        fast, standard = _parse_both_ways(data, 64, monkeypatch)
        assert fast == standard, depth
        outcomes.add(fast.startswith("rejected: doc.json: JSON nested deeper than 64 levels"))
    assert outcomes == {True, False}


def test_the_nesting_limit_is_exact_for_arrays_and_objects(monkeypatch) -> None:
    """MP_READER_MAX_NESTING=N accepts a document N levels deep and rejects N + 1, by either
    parser (below 9 levels json.loads parses alone), whatever the caller's stack depth."""

    def nested(depth: int, kind: str) -> bytes:
        if kind == "arrays":
            return b"[" * depth + b"1" + b"]" * depth
        # objects inside arrays inside objects: every level is one array or one object
        opening = b"".join(b'{"k": ' if i % 2 == 0 else b"[" for i in range(depth))
        closing = b"".join(b"}" if i % 2 == 0 else b"]" for i in reversed(range(depth)))
        return opening + b"1" + closing

    def deeper(frames: int, data: bytes, limit: int) -> tuple[str, str]:
        return deeper(frames - 1, data, limit) if frames else _parse_both_ways(data, limit, monkeypatch)

    for limit in (1, 2, 8, 9, 10, 64, 200):
        for kind in ("arrays", "objects"):
            for frames in (0, 25):
                at_limit = deeper(frames, nested(limit, kind), limit)
                assert not at_limit[0].startswith("rejected") and at_limit[0] == at_limit[1], (
                    limit,
                    kind,
                    frames,
                )
                beyond = deeper(frames, nested(limit + 1, kind), limit)
                message = (
                    f"rejected: doc.json: JSON nested deeper than {limit} levels (MP_READER_MAX_NESTING)"
                )
                assert beyond == (message, message), (limit, kind, frames)
