"""A chunk's files are appended several per statement (ingest/append_batch.py), and nothing a
file gets from the loader changes: its own rows and row numbers, its own rejection, and the
replay of a day's deliveries in arrival order."""

from __future__ import annotations

import datetime as dt

import pytest
from matrix_pulse.ingest import run_ingest
from matrix_pulse.settings import Settings
from matrix_pulse.sources import SOURCES

from .conftest import assert_reconciles, query
from .fixtures import good_rows, write_csv

DAYS = [dt.date(2026, 7, d) for d in (1, 2, 3)]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], bool]]:
    """Each multi-file append the batch tried: (its files, whether the one statement took them)."""
    from matrix_pulse.ingest.append_batch import AppendBatch

    tried: list[tuple[list[str], bool]] = []
    together = AppendBatch._append_together

    def spy(self, group):
        counts = together(self, group)
        tried.append(([p.rf.f.path.name for p in group], counts is not None))
        return counts

    monkeypatch.setattr(AppendBatch, "_append_together", spy)
    return tried


def _title():
    src = SOURCES["kuaishou_posts"]
    return next(c for c in src.columns if c.kind == "text" and c.name not in src.key)


def test_csvs_of_one_source_share_a_statement_and_keep_their_own_rows(
    settings: Settings, statements: list
) -> None:
    rows = {d: good_rows("kuaishou_posts", d, 4 + i) for i, d in enumerate(DAYS)}
    rows[DAYS[2]].append(dict(rows[DAYS[2]][1]))  # row 7 of the third file repeats its row 2
    for d in DAYS:
        write_csv(settings.landing_dir, "kuaishou_posts", d, rows[d])
    run_ingest(settings)

    names = [f"kuaishou_posts_{d:%Y%m%d}.csv" for d in DAYS]
    assert statements == [(names, True)]
    per_file = query(
        settings,
        "SELECT source_file, count(*), min(source_row), max(source_row) FROM raw.kuaishou_posts "
        "GROUP BY ALL ORDER BY 1",
    )
    assert per_file == [(f"kuaishou_posts/{names[0]}", 4, 1, 4), (f"kuaishou_posts/{names[1]}", 5, 1, 5),
                        (f"kuaishou_posts/{names[2]}", 6, 1, 6)]  # fmt: skip
    assert query(settings, "SELECT source_file, source_row, reason, detail FROM raw.quarantine") == [
        (f"kuaishou_posts/{names[2]}", 7, "exact_duplicate_row", "exact duplicate of row 2")
    ]
    # each row sits under its own file's number: the third file's row 3 is its own third record
    key = next(c for c in SOURCES["kuaishou_posts"].columns if c.name == "post_id")
    assert query(
        settings,
        "SELECT source_row FROM raw.kuaishou_posts WHERE source_file = ? AND post_id = ?",
        [f"kuaishou_posts/{names[2]}", rows[DAYS[2]][2][key.source_name]],
    ) == [(3,)]
    assert_reconciles(settings)


def test_a_bad_csv_among_others_is_set_aside_alone_and_a_redelivery_still_replaces(
    settings: Settings, statements: list
) -> None:
    """The statement over all three fails on the second file's 40,000-character cell: the files
    are appended one by one, so that file gets the rejection it gets alone (row, column, limit)
    and the others load. The first day's re-delivery, staged after its first delivery, replaces
    it as a one-by-one load would."""
    title = _title()
    rows = {d: good_rows("kuaishou_posts", d, 4) for d in DAYS}
    rows[DAYS[1]][3][title.source_name] = "a" * 40_000
    for d in DAYS:
        write_csv(settings.landing_dir, "kuaishou_posts", d, rows[d])
    again = [dict(r) for r in rows[DAYS[0]][:2]]
    again[0][title.source_name] = "重发的标题"
    write_csv(settings.landing_dir, "kuaishou_posts", DAYS[0], again, suffix="_v2")
    run_ingest(settings)

    status = {
        n: (s, r) for n, s, r in query(settings, "SELECT file_name, status, reason FROM meta.load_ledger")
    }
    bad = status["kuaishou_posts/kuaishou_posts_20260702.csv"]
    assert bad[0] == "rejected"
    for part in (
        "kuaishou_posts_20260702.csv",
        "row 4 ",
        f"'{title.source_name}'",
        "40,000",
        "MP_READER_MAX_CELL_CHARS",
    ):
        assert part in bad[1], (part, bad[1])
    assert status["kuaishou_posts/kuaishou_posts_20260701.csv"][0] == "replaced"
    assert status["kuaishou_posts/kuaishou_posts_20260701_v2.csv"][0] == "loaded"
    assert status["kuaishou_posts/kuaishou_posts_20260703.csv"][0] == "loaded"
    # the first delivery was appended (alone) before its re-delivery was staged; the three after
    # it were tried in one statement, which failed on the second day's cell
    assert statements == [
        (
            ["kuaishou_posts_20260701_v2.csv", "kuaishou_posts_20260702.csv", "kuaishou_posts_20260703.csv"],
            False,
        )
    ]
    assert query(settings, "SELECT data_date, count(*) FROM raw.kuaishou_posts GROUP BY 1 ORDER BY 1") == [
        (DAYS[0], 2),
        (DAYS[2], 4),
    ]
    assert query(
        settings, f'SELECT source_row FROM raw.kuaishou_posts WHERE "{title.name}" = ?', ["重发的标题"]
    ) == [(1,)]
    assert_reconciles(settings)


def test_a_day_redelivered_as_it_was_before_replaces_this_runs_delivery(settings: Settings) -> None:
    """Run 1 loads version A of a day; run 2 gets version B, then A again. Loaded one by one, B
    displaces A and the second A, no longer the day's delivery, displaces B. Whether that A is a
    duplicate depends on B having been told to its day, which the batch does only when B is
    appended: so B is appended before A is judged."""
    first = write_csv(
        settings.landing_dir, "kuaishou_posts", DAYS[0], good_rows("kuaishou_posts", DAYS[0], 3)
    )
    version_a = first.read_bytes()
    run_ingest(settings)
    write_csv(
        settings.landing_dir, "kuaishou_posts", DAYS[0], good_rows("kuaishou_posts", DAYS[0], 5), suffix="_b"
    )
    (settings.landing_dir / "kuaishou_posts" / "kuaishou_posts_20260701_c.csv").write_bytes(version_a)
    run_ingest(settings)

    status = dict(query(settings, "SELECT file_name, status FROM meta.load_ledger"))
    assert status == {
        "kuaishou_posts/kuaishou_posts_20260701.csv": "replaced",
        "kuaishou_posts/kuaishou_posts_20260701_b.csv": "replaced",
        "kuaishou_posts/kuaishou_posts_20260701_c.csv": "loaded",
    }
    assert query(settings, "SELECT DISTINCT source_file FROM raw.kuaishou_posts") == [
        ("kuaishou_posts/kuaishou_posts_20260701_c.csv",)
    ]
    assert_reconciles(settings)


def test_sheets_and_json_files_of_one_source_share_a_statement(settings: Settings, statements: list) -> None:
    """The worker's columns of several files go in together (Arrow tables for the sheets, numpy
    columns for JSON), each row under its own file and number; a JSON file feeding two raw
    tables (WeChat OA's articles and users) takes part in one statement per table."""
    from .fixtures import write_good

    for i, d in enumerate(DAYS):
        write_good(settings.landing_dir, "douyin_posts", d, n=3 + i)
        write_good(settings.landing_dir, "wechat_oa", d, n=3 + i)
    run_ingest(settings)

    douyin = [f"douyin_posts_{d:%Y%m%d}.xlsx" for d in DAYS]
    oa = [f"wechat_oa_{d:%Y%m%d}.json" for d in DAYS]
    assert sorted(statements) == sorted([(douyin, True), (oa, True), (oa, True)])
    for table, folder, names in (
        ("douyin_posts", "douyin_posts", douyin),
        ("wechat_oa_articles", "wechat_oa", oa),
        ("wechat_oa_users", "wechat_oa", oa),
    ):
        per_file = query(
            settings,
            f"SELECT source_file, count(*), min(source_row), max(source_row) FROM raw.{table} GROUP BY ALL ORDER BY 1",
        )
        assert per_file == [(f"{folder}/{n}", 3 + i, 1, 3 + i) for i, n in enumerate(names)], table
    assert_reconciles(settings)


def test_a_ragged_crm_file_among_others_leaves_no_phone_or_name_in_the_log(
    settings: Settings, statements: list, caplog: pytest.LogCaptureFixture
) -> None:
    """DuckDB's error for a ragged CSV row quotes the row (a customer's phone and name): the
    shared statement's failure is logged by its first line only, and the file is set aside alone."""
    import logging

    rows = {d: good_rows("crm_dcc", d, 3) for d in DAYS}
    paths = [write_csv(settings.landing_dir, "crm_dcc", d, rows[d]) for d in DAYS]
    ragged = dict(rows[DAYS[1]][1], CustomerName="欧阳秀英", Phone="13987654321")
    with paths[1].open("a", encoding="utf-8") as fh:
        fh.write(",".join(str(v) for v in ragged.values()) + ",one cell too many\n")
    with caplog.at_level(logging.INFO):
        run_ingest(settings)

    assert statements == [([p.name for p in paths], False)]
    status = dict(query(settings, "SELECT file_name, status FROM meta.load_ledger"))
    assert status == {
        "crm_dcc/crm_dcc_20260701.csv": "loaded",
        "crm_dcc/crm_dcc_20260702.csv": "rejected",
        "crm_dcc/crm_dcc_20260703.csv": "loaded",
    }
    assert "appended one by one" in caplog.text
    for secret in ("13987654321", "欧阳秀英"):
        assert secret not in caplog.text
    assert_reconciles(settings)
