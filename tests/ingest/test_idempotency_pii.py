"""Re-runs change nothing; re-deliveries swap a day atomically; no PII leaves the load step."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from pathlib import Path

import pytest
from matrix_pulse.ingest import refresh_freshness, run_ingest
from matrix_pulse.ingest.schema import raw_columns
from matrix_pulse.settings import Settings
from matrix_pulse.sources import SOURCES

from .conftest import assert_reconciles, query
from .fixtures import NAMES, PHONES, good_rows, write_all_good, write_csv, write_good

D = dt.date(2026, 7, 1)
# The input's numbers in their normalised form, looked for with separators stripped.
NUMBERS = {re.sub(r"\D", "", p)[-11:] for p in PHONES}


def carries_pii(text: str) -> bool:
    digits_only = re.sub(r"[\s\-+]", "", text)
    # WeCom's external_userid (the fixtures write wmEXT...) is a person's ID: keyed hash only
    return any(n in digits_only for n in NUMBERS) or any(name in text for name in NAMES) or "wmEXT" in text


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    """Every raw table's rows without load-time columns (loaded_at differs by design)."""
    out = {}
    for src in SOURCES.values():
        cols = ", ".join(f'"{n}"' for n, _ in raw_columns(src) if n != "loaded_at")
        out[src.raw_table] = query(settings, f"SELECT {cols} FROM raw.{src.raw_table} ORDER BY ALL")
    out["quarantine"] = query(
        settings,
        "SELECT source, source_file, source_row, reason, original::VARCHAR FROM raw.quarantine ORDER BY ALL",
    )
    return out


def test_same_landing_twice_and_redelivery_leave_identical_raw(settings: Settings, tmp_path: Path) -> None:
    write_all_good(settings.landing_dir, D)
    write_all_good(settings.landing_dir, D + dt.timedelta(days=1))
    first = run_ingest(settings)
    assert not first.rejected and first.files
    before = snapshot(settings)
    again = run_ingest(settings)
    assert again.files == [] and again.skipped_known == len(first.files)
    assert snapshot(settings) == before

    # The same bytes delivered again under another name: recorded, not loaded twice.
    src = settings.landing_dir / "douyin_posts" / "douyin_posts_20260701.xlsx"
    (src.parent / "douyin_posts_20260701 (1).xlsx").write_bytes(src.read_bytes())
    dup = run_ingest(settings)
    assert [f.status for f in dup.files] == ["duplicate_delivery"]
    assert snapshot(settings) == before

    # A corrected re-delivery replaces the day; delivering the original again restores it.
    rows = good_rows("kuaishou_posts", D, 5)
    v2 = write_csv(settings.landing_dir, "kuaishou_posts", D, rows, suffix="_v2")
    later = v2.stat().st_mtime + 60
    os.utime(v2, (later, later))
    run_ingest(settings)
    assert query(settings, "SELECT count(*) FROM raw.kuaishou_posts WHERE data_date = ?", [D])[0][0] == 5
    v3 = settings.landing_dir / "kuaishou_posts" / "kuaishou_posts_20260701_v3.csv"
    v3.write_bytes((settings.landing_dir / "kuaishou_posts" / "kuaishou_posts_20260701.csv").read_bytes())
    os.utime(v3, (later + 60, later + 60))
    run_ingest(settings)
    after = snapshot(settings)
    # Identical data, only the delivering file name differs.
    norm = {
        k: [
            tuple(x if not (isinstance(x, str) and "kuaishou_posts_20260701" in x) else "F" for x in r)
            for r in v
        ]
        for k, v in after.items()
    }
    base = {
        k: [
            tuple(x if not (isinstance(x, str) and "kuaishou_posts_20260701" in x) else "F" for x in r)
            for r in v
        ]
        for k, v in before.items()
    }
    assert norm == base
    statuses = dict(
        query(
            settings,
            "SELECT file_name, status FROM meta.load_ledger WHERE source = 'kuaishou_posts' "
            "AND data_date = ?",
            [D],
        )
    )
    assert statuses == {
        "kuaishou_posts/kuaishou_posts_20260701.csv": "replaced",
        "kuaishou_posts/kuaishou_posts_20260701_v2.csv": "replaced",
        "kuaishou_posts/kuaishou_posts_20260701_v3.csv": "loaded",
    }
    assert_reconciles(settings)


def test_archive_keeps_every_file_byte_for_byte(settings: Settings) -> None:
    paths = write_all_good(settings.landing_dir, D)
    before = {p: p.read_bytes() for p in paths}
    run_ingest(settings)
    for p, data in before.items():
        assert p.read_bytes() == data, "the landing is never altered"
        sha = hashlib.sha256(data).hexdigest()
        archived = settings.archive_dir / p.parent.name / f"{sha}{p.suffix}"
        assert archived.read_bytes() == data
        assert archived.stat().st_mode & 0o777 == 0o440
    # The copy is made under a temporary name first: a file the ledger knows (same name and
    # bytes, touched) and the same bytes under a new name leave no temporary copy behind.
    known, renamed = paths[0], paths[1]
    os.utime(known, (known.stat().st_atime, known.stat().st_mtime + 60))
    renamed.rename(renamed.with_name(renamed.name.replace(".", "_again.", 1)))
    run_ingest(settings)
    kept = {p.relative_to(settings.archive_dir) for p in settings.archive_dir.rglob("*") if p.is_file()}
    assert kept == {
        Path(p.parent.name) / f"{hashlib.sha256(d).hexdigest()}{p.suffix}" for p, d in before.items()
    }


def test_a_crashed_runs_temporary_copy_is_removed_by_the_next_run(settings: Settings) -> None:
    """A run that died between the archive copy and its rename left ``.incoming-*`` behind: the
    next run removes one older than an hour, and leaves a young one (another ingest's copy in
    flight, on PostgreSQL) and every kept file alone."""
    paths = write_all_good(settings.landing_dir, D)
    run_ingest(settings)
    kept = sorted(p for p in settings.archive_dir.rglob("*") if p.is_file())
    folder = kept[0].parent
    stale, in_flight = folder / ".incoming-crashed", folder / ".incoming-in-flight"
    stale.write_bytes(paths[0].read_bytes())
    in_flight.write_bytes(b"half a copy")
    two_hours_ago = time.time() - 7200
    for p in (stale, *kept):
        os.utime(p, (two_hours_ago, two_hours_ago))
    run_ingest(settings)
    assert not stale.exists() and in_flight.exists()
    assert sorted(p for p in settings.archive_dir.rglob("*") if p.is_file() and p != in_flight) == kept


@pytest.mark.slow
def test_no_phone_number_or_customer_name_survives_the_load(settings: Settings) -> None:
    """Scan every warehouse table and every file the pipeline writes (archive excepted by design:
    it is the one access-controlled place that keeps files as they arrived)."""
    from matrix_pulse.ingest.quality import run_quality

    write_all_good(settings.landing_dir, D, n=6)
    rows = good_rows("crm_dcc", D + dt.timedelta(days=1), 6)
    rows[0]["ClueId"] = ""  # set aside: its original goes to quarantine
    rows[1]["LeadStatus"] = "999"  # GX critical: the whole file goes to quarantine
    write_csv(settings.landing_dir, "crm_dcc", D + dt.timedelta(days=1), rows + [rows[2]])
    write_good(settings.landing_dir, "crm_legacy", D + dt.timedelta(days=1), n=4)
    run_ingest(settings)
    report = run_quality(settings)
    assert any("crm_dcc_20260702.csv" in m and "lead_status" in m for m in report.critical_failures)
    refresh_freshness(settings)
    assert query(settings, "SELECT count(*) FROM raw.quarantine WHERE source LIKE 'crm%'")[0][0] >= 7

    tables = query(settings, "SELECT table_schema, table_name FROM information_schema.tables")
    scanned = 0
    for schema, table in tables:
        for row in query(settings, f'SELECT * FROM "{schema}"."{table}"'):
            scanned += 1
            for v in row:
                assert not carries_pii(str(v)), f"{schema}.{table}: {str(v)[:200]}"
    assert scanned > 50
    files = [
        p
        for p in settings.home.rglob("*")
        if p.is_file()
        and settings.archive_dir not in p.parents
        and settings.landing_dir not in p.parents
        and p.suffix != ".duckdb"
        and "secrets" not in p.parts
    ]
    assert any("data_docs" in str(p) for p in files)
    for p in files:
        text = p.read_bytes().decode("utf-8", errors="ignore")
        assert not carries_pii(text), f"{p}: a phone number or customer name"
    # The key never lands in the warehouse or next to it.
    key = os.environ["MP_PII_HMAC_KEY"]
    for p in files:
        assert key not in p.read_bytes().decode("utf-8", errors="ignore")


@pytest.mark.parametrize("key", [b"k" * 64, b"short key", b"a much longer key than one SHA-256 block " * 3])
def test_sql_hmac_equals_python_hmac(key: bytes) -> None:
    """The loader hashes phones and personal IDs in DuckDB (issue 17): every hash must be the
    RFC 2104 HMAC-SHA256 Python's hmac computes, for any key length and any text (digits,
    'id:' + an ID, non-ASCII, backslashes that a cast to BLOB would read as escapes)."""
    import duckdb
    from matrix_pulse.ingest.normalise import install_macros
    from matrix_pulse.ingest.pii import hmac_pads, hmac_sha256_hex

    values = ["13812345678", "id:wmEXT_abc", "id:中文客户", "id:a\\x41b", "id:'\"", ""]
    with duckdb.connect() as con:
        install_macros(con)
        ipad, opad = hmac_pads(key)
        got = con.execute(
            "SELECT mp_hmac_sha256(?::BLOB, ?::BLOB, v) FROM unnest(?::VARCHAR[]) WITH ORDINALITY t(v, i) ORDER BY i",
            [ipad, opad, values],
        ).fetchall()
    assert [g[0] for g in got] == hmac_sha256_hex(key, values)


def test_loaded_phone_hash_is_the_keyed_hmac_of_its_digits(settings: Settings) -> None:
    from matrix_pulse.ingest.pii import hmac_key, hmac_sha256_hex

    rows = good_rows("crm_dcc", D, 2)
    rows[0]["Phone"], rows[1]["Phone"] = "+86 138 1234 5678", "无"
    write_csv(settings.landing_dir, "crm_dcc", D, rows)
    run_ingest(settings)
    got = query(settings, "SELECT phone_hash FROM raw.crm_dcc ORDER BY source_row")
    assert got == [(hmac_sha256_hex(hmac_key(settings), ["13812345678"])[0],), (None,)]
