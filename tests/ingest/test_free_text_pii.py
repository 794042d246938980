"""Issue 14: PII typed into free text is masked at load; the text is otherwise kept as written.

A phone and a resident ID number are planted in every free-text column of every source
(titles, descriptions, names, SourceContentId, DefeatReason, ...) and in a column the
contract does not know; one row per file is set aside, so quarantine is checked too.
"""

from __future__ import annotations

import datetime as dt

from matrix_pulse.ingest import run_ingest
from matrix_pulse.ingest.pii import free_text_columns
from matrix_pulse.settings import Settings
from matrix_pulse.sources import SOURCES, landing_folder

from .conftest import assert_reconciles, query
from .fixtures import good_rows, write_csv, write_json, write_xlsx

D = dt.date(2026, 7, 1)
PHONE, RESIDENT_ID = "13812345678", "110101199003071234"
# The same typed with a Chinese IME's full-width digits: masked too, and kept full-width.
PHONE_FW, RESIDENT_ID_FW = "１３８１２３４５６７８", "１１０１０１１９９００３０７１２３４"
PLANTED = f"联系+86 138-1234-5678或{PHONE}或{PHONE_FW}，身份证{RESIDENT_ID}/{RESIDENT_ID_FW}（急）…"
MASKED = (
    "联系138****5678或138****5678或１３８****５６７８，身份证******************/******************（急）…"
)
CLEAR = (PHONE, "1234-5678", RESIDENT_ID, PHONE_FW, "１２３４５６７８", RESIDENT_ID_FW)


def test_phones_and_ids_in_every_free_text_column_are_masked_text_kept_as_written(settings: Settings) -> None:
    folders: dict[str, dict[str, list]] = {}
    for src in SOURCES.values():
        rows = good_rows(src.name, D, 3)
        cols = [src.columns[j] for j in free_text_columns(src)]
        for r in rows:
            for c in cols:
                r[c.source_name] = PLANTED if c.name not in src.key else f"{r[c.source_name]} {PLANTED}"
            r["备注"] = PLANTED  # a column the contract does not know
        # the key names raw columns: a hashed ID's is <name>_hash (WeCom's external_userid)
        key_col = next(c for c in src.columns if src.key[0] in (c.name, f"{c.name}_hash"))
        rows[2][key_col.source_name] = None  # set aside (missing key): quarantine keeps its values
        folders.setdefault(landing_folder(src), {})[src.name] = rows
    for folder, by_source in folders.items():
        src = next(s for s in SOURCES.values() if s.name in by_source)
        if src.fmt == "xlsx":
            write_xlsx(settings.landing_dir, src.name, D, by_source[src.name])
        elif src.fmt == "csv":
            write_csv(settings.landing_dir, src.name, D, by_source[src.name])
        else:
            write_json(settings.landing_dir, folder, D, by_source)
    run_ingest(settings)
    assert not [r for r in query(settings, "SELECT file_name, reason FROM meta.load_ledger") if r[1]]
    assert_reconciles(settings)
    checked = 0
    for src in SOURCES.values():
        every_cell = query(settings, f"SELECT CAST(t AS VARCHAR) FROM raw.{src.raw_table} t")
        assert len(every_cell) == 2, src.name
        text = "\n".join(r[0] for r in every_cell)
        assert not [c for c in CLEAR if c in text], src.name
        for j in free_text_columns(src):
            c = src.columns[j]
            values = [r[0] for r in query(settings, f'SELECT "{c.name}" FROM raw.{src.raw_table}')]
            if c.kind == "text":  # masked, and otherwise exactly as typed: ，（）… are not folded
                assert all(v.endswith(MASKED) for v in values), (src.name, c.name, values)
            else:  # an ID column typed by hand: masked (IDs are folded to ASCII by contract)
                assert all(
                    "138****5678或138****5678或" in v and "******************/****" in v for v in values
                )
            checked += 1
    assert checked >= 20
    quarantine = "\n".join(r[0] for r in query(settings, "SELECT CAST(q AS VARCHAR) FROM raw.quarantine q"))
    assert quarantine.count("138****5678") >= len(SOURCES)
    assert not [c for c in CLEAR if c in quarantine]
