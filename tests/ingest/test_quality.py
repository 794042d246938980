"""GX checks: batches of whole files per raw table, outcomes attributed to each file.

A file that breaks a critical expectation is quarantined on its own (its neighbours in the
same batch pass); warnings are recorded without quarantine; ``mostly`` and uniqueness are
judged per file; a file is checked once.
"""

from __future__ import annotations

import datetime as dt
import json

from matrix_pulse.ingest import run_ingest
from matrix_pulse.ingest.quality import run_quality
from matrix_pulse.settings import Settings

from .conftest import assert_reconciles, query
from .fixtures import good_rows, write_all_good, write_csv, write_good

D = dt.date(2026, 7, 1)
D1 = D + dt.timedelta(days=1)


def _gx(settings: Settings, file_name: str) -> dict[tuple[str, str, str], tuple[bool, int | None, str]]:
    """(raw_table, expectation, column) -> (success, unexpected_count, severity) for one file."""
    rows = query(
        settings,
        "SELECT raw_table, expectation, column_name, success, unexpected_count, severity "
        "FROM meta.gx_results WHERE file_name = ?",
        [file_name],
    )
    out = {(t, e, c): (s, n, sev) for t, e, c, s, n, sev in rows}
    assert len(out) == len(rows), f"{file_name}: one row per raw table x expectation"
    return out


def _ledger(settings: Settings) -> dict[str, tuple[str, str | None, bool]]:
    return {
        name: (status, reason, checked is not None)
        for name, status, reason, checked in query(
            settings, "SELECT file_name, status, reason, gx_checked_at FROM meta.load_ledger"
        )
    }


def test_critical_failure_quarantines_only_that_file(settings: Settings) -> None:
    landing = settings.landing_dir
    good_d = write_all_good(landing, D, n=3)
    # D+1: an unknown lead status (crm_dcc), an ID twice in one file (kuaishou), and good files,
    # one of which (weibo) repeats the IDs of its D file: unique per file, not across files.
    dcc = good_rows("crm_dcc", D1, 4)
    dcc[1]["LeadStatus"] = "999"
    write_csv(landing, "crm_dcc", D1, dcc)
    ks = good_rows("kuaishou_posts", D1, 4)
    ks[2]["作品ID"] = ks[0]["作品ID"]  # other cells differ: not an exact duplicate row
    write_csv(landing, "kuaishou_posts", D1, ks)
    write_csv(landing, "weibo_posts", D1, good_rows("weibo_posts", D, 3))
    write_good(landing, "crm_legacy", D1, n=4)
    write_good(landing, "douyin_posts", D1, n=3)
    run_ingest(settings)

    report = run_quality(settings)

    bad = {"crm_dcc/crm_dcc_20260702.csv", "kuaishou_posts/kuaishou_posts_20260702.csv"}
    assert report.files_checked == len(good_d) + 5
    assert sorted(report.critical_failures) == [
        # The rows are named (file rows under the header), not just counted.
        "crm_dcc/crm_dcc_20260702.csv: expect_column_values_to_be_in_set on lead_status (1 unexpected: row 2)",
        "kuaishou_posts/kuaishou_posts_20260702.csv: expect_compound_columns_to_be_unique on post_id "
        "(2 unexpected: rows 1, 3)",
    ]
    ledger = _ledger(settings)
    assert len(ledger) == len(good_d) + 5
    for name, (status, reason, checked) in ledger.items():
        assert checked, name
        if name in bad:
            assert status == "gx_failed", name
            assert reason.startswith("gx_critical: expect_"), reason
        else:
            assert (status, reason) == ("loaded", None), name
    assert "lead_status" in ledger["crm_dcc/crm_dcc_20260702.csv"][1]
    assert "post_id" in ledger["kuaishou_posts/kuaishou_posts_20260702.csv"][1]

    # Only the bad files' rows moved, all of them; every file still reconciles.
    moved = query(
        settings,
        "SELECT source_file, raw_table, reason, count(*) FROM raw.quarantine "
        "WHERE reason = 'gx_critical' GROUP BY ALL ORDER BY 1",
    )
    assert moved == [
        ("crm_dcc/crm_dcc_20260702.csv", "crm_dcc", "gx_critical", 4),
        ("kuaishou_posts/kuaishou_posts_20260702.csv", "kuaishou_posts", "gx_critical", 4),
    ]
    assert query(settings, "SELECT count(*) FROM raw.crm_dcc WHERE data_date = ?", [D1])[0][0] == 0
    assert query(settings, "SELECT count(*) FROM raw.crm_dcc WHERE data_date = ?", [D])[0][0] == 3
    assert query(settings, "SELECT count(*) FROM raw.kuaishou_posts WHERE data_date = ?", [D])[0][0] == 3
    assert query(settings, "SELECT count(*) FROM raw.weibo_posts WHERE data_date = ?", [D1])[0][0] == 3
    assert_reconciles(settings)

    # gx_results: one row per file x raw table x expectation, failures on the bad file only.
    assert query(settings, "SELECT count(DISTINCT file_name) FROM meta.gx_results")[0][0] == len(ledger)
    dcc_res = _gx(settings, "crm_dcc/crm_dcc_20260702.csv")
    assert dcc_res[("crm_dcc", "expect_column_values_to_be_in_set", "lead_status")] == (False, 1, "critical")
    assert [k for k, v in dcc_res.items() if not v[0]] == [
        ("crm_dcc", "expect_column_values_to_be_in_set", "lead_status")
    ]
    ks_res = _gx(settings, "kuaishou_posts/kuaishou_posts_20260702.csv")
    assert ks_res[("kuaishou_posts", "expect_compound_columns_to_be_unique", "post_id")] == (
        False,
        2,
        "critical",
    )
    assert ks_res[("kuaishou_posts", "expect_column_values_to_not_be_null", "post_id")][0]
    details = json.loads(
        query(
            settings,
            "SELECT details FROM meta.gx_results WHERE file_name = ? AND column_name = 'lead_status'",
            ["crm_dcc/crm_dcc_20260702.csv"],
        )[0][0]
    )
    assert details == {"partial_unexpected": ["999"], "unexpected_rows": [2], "element_count": 4}
    for name in ledger.keys() - bad:
        res = _gx(settings, name)
        assert res and all(v[0] and v[1] in (0, None) for v in res.values()), (name, res)
    # Every raw table a file feeds has its rows (wechat_oa: two tables from one file).
    tables = {
        t
        for (t,) in query(
            settings, "SELECT DISTINCT raw_table FROM meta.gx_results WHERE source = 'wechat_oa'"
        )
    }
    assert len(tables) == 2
    assert report.data_docs and settings.gx_data_docs_dir.is_dir()


def test_warnings_are_recorded_without_quarantine(settings: Settings) -> None:
    landing = settings.landing_dir
    ks = good_rows("kuaishou_posts", D, 3)
    ks[0]["发布时间"] = "2024-01-01 10:00:00"  # far before the data date: a warning
    write_csv(landing, "kuaishou_posts", D, ks)
    legacy = good_rows("crm_legacy", D, 3)
    for r in legacy:
        r["手机号"] = "123"  # a file of junk phones: below mostly=0.8
    write_csv(landing, "crm_legacy", D, legacy)
    dcc = good_rows("crm_dcc", D, 5)
    dcc[0]["Phone"] = "无"  # 4 of 5 valid: mostly=0.8 is met for this file
    write_csv(landing, "crm_dcc", D, dcc)
    run_ingest(settings)

    report = run_quality(settings)

    assert report.critical_failures == []
    assert report.files_checked == 3
    assert sorted(report.warnings) == [
        "crm_legacy/crm_legacy_20260701.csv (crm_legacy): expect_column_values_to_be_in_set on "
        "phone_is_valid (3 unexpected: rows 1, 2, 3)",
        "kuaishou_posts/kuaishou_posts_20260701.csv (kuaishou_posts): expect_column_values_to_be_between "
        "on published_at (1 unexpected: row 1)",
    ]
    assert {s for s, _, _ in _ledger(settings).values()} == {"loaded"}
    assert all(checked for _, _, checked in _ledger(settings).values())
    assert query(settings, "SELECT count(*) FROM raw.quarantine")[0][0] == 0
    assert query(settings, "SELECT count(*) FROM raw.kuaishou_posts")[0][0] == 3
    ks_res = _gx(settings, "kuaishou_posts/kuaishou_posts_20260701.csv")
    assert ks_res[("kuaishou_posts", "expect_column_values_to_be_between", "published_at")] == (
        False,
        1,
        "warning",
    )
    legacy_res = _gx(settings, "crm_legacy/crm_legacy_20260701.csv")
    assert legacy_res[("crm_legacy", "expect_column_values_to_be_in_set", "phone_is_valid")] == (
        False,
        3,
        "warning",
    )
    dcc_res = _gx(settings, "crm_dcc/crm_dcc_20260701.csv")
    assert dcc_res[("crm_dcc", "expect_column_values_to_be_in_set", "phone_is_valid")] == (True, 1, "warning")
    assert_reconciles(settings)


def test_a_file_is_checked_once(settings: Settings) -> None:
    first = write_all_good(settings.landing_dir, D, n=2)
    run_ingest(settings)
    assert run_quality(settings, run_id="gx_first").files_checked == len(first)
    n_results = query(settings, "SELECT count(*) FROM meta.gx_results")[0][0]
    assert n_results > 0

    again = run_quality(settings, run_id="gx_again")
    assert (again.files_checked, again.critical_failures, again.data_docs) == (0, [], None)
    assert query(settings, "SELECT count(*) FROM meta.gx_results")[0][0] == n_results

    # The next day's file is the only one checked by the next run.
    write_good(settings.landing_dir, "douyin_posts", D1, n=2)
    run_ingest(settings)
    nxt = run_quality(settings, run_id="gx_next")
    assert nxt.files_checked == 1
    assert query(settings, "SELECT DISTINCT file_name FROM meta.gx_results WHERE run_id = 'gx_next'") == [
        ("douyin_posts/douyin_posts_20260702.xlsx",)
    ]
    assert query(settings, "SELECT count(*) FROM meta.load_ledger WHERE gx_checked_at IS NULL")[0][0] == 0


def test_a_failure_names_a_bounded_sample_of_rows(settings: Settings) -> None:
    """Issue 14: 30 bad rows are named by their first rows (bounded) and the count says the rest."""
    dcc = good_rows("crm_dcc", D, 40)
    for r in dcc[5:35]:
        r["LeadStatus"] = "999"
    write_csv(settings.landing_dir, "crm_dcc", D, dcc)
    run_ingest(settings)
    report = run_quality(settings)
    [failure] = report.critical_failures
    assert failure.endswith("(30 unexpected: rows 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 … (30 in all))"), failure


def test_a_backlog_checked_in_batches_gets_the_outcomes_of_one_batch(
    settings: Settings, tmp_path, monkeypatch, caplog
) -> None:
    """A backlog is validated in batches of whole files (``GX_BATCH_ROWS``): every file's results,
    verdict and quarantined rows are those a single batch gives."""
    import logging
    import shutil

    from matrix_pulse.ingest import quality

    landing = settings.landing_dir
    write_all_good(landing, D, n=3)
    dcc = good_rows("crm_dcc", D1, 4)
    dcc[1]["LeadStatus"] = "999"  # critical: an unknown lead status
    write_csv(landing, "crm_dcc", D1, dcc)
    ks = good_rows("kuaishou_posts", D1, 4)
    ks[2]["作品ID"] = ks[0]["作品ID"]  # critical: an ID twice in one file
    write_csv(landing, "kuaishou_posts", D1, ks)
    write_csv(landing, "weibo_posts", D1, good_rows("weibo_posts", D, 3))  # D's IDs again: fine
    write_good(landing, "crm_legacy", D1, n=4)
    write_good(landing, "douyin_posts", D1, n=3)
    run_ingest(settings)
    copy = tmp_path / "batched" / "warehouse" / settings.warehouse_path.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(settings.warehouse_path, copy)
    batched = settings.model_copy(update={"home": tmp_path / "batched", "warehouse_path": copy})

    whole = run_quality(settings, run_id="gx_whole")
    monkeypatch.setattr(quality, "GX_BATCH_ROWS", 3)  # a file of 3-4 rows per batch
    batch_rows: list[int] = []  # the rows of each pandas batch a result came from

    def outcomes(r, files, row_counts, *args):
        batch_rows.append(sum(row_counts.values()))
        return real_outcomes(r, files, row_counts, *args)

    real_outcomes = quality._file_outcomes
    monkeypatch.setattr(quality, "_file_outcomes", outcomes)
    with caplog.at_level(logging.INFO, logger="matrix_pulse.ingest.quality"):
        parts = run_quality(batched, run_id="gx_parts")
    assert "raw.crm_dcc: 2 files in 2 batches" in caplog.text
    assert "raw.kuaishou_posts: 2 files in 2 batches" in caplog.text
    assert batch_rows and max(batch_rows) == 4  # one file a batch: none holds two files' rows

    assert len(whole.critical_failures) == 2 and whole.files_checked == parts.files_checked
    assert (sorted(parts.critical_failures), sorted(parts.warnings)) == (
        sorted(whole.critical_failures),
        sorted(whole.warnings),
    )
    for sql in (
        "SELECT source, raw_table, data_date, file_name, expectation, column_name, severity, success, "
        "unexpected_count, details FROM meta.gx_results ORDER BY ALL",
        "SELECT file_name, status, reason, gx_checked_at IS NULL FROM meta.load_ledger ORDER BY ALL",
        "SELECT source_file, raw_table, reason, count(*) FROM raw.quarantine GROUP BY ALL ORDER BY ALL",
    ):
        assert query(batched, sql) == query(settings, sql), sql
    assert query(settings, "SELECT count(*) FROM raw.quarantine WHERE reason = 'gx_critical'")[0][0] == 8


def test_an_empty_count_passes_and_a_negative_one_never_reaches_the_checks(settings: Settings) -> None:
    """GX gets an integer column with a NULL as numpy floats (its vectorised between rule): the
    empty cell is no unexpected value, and a negative count is set aside by the ingest already."""
    landing = settings.landing_dir
    ks = good_rows("kuaishou_posts", D, 4)
    ks[1]["点赞数"] = -5  # unreadable as a count: the row is set aside at load
    ks[2]["点赞数"] = ""  # a NULL among integers: the column cannot be numpy int64
    write_csv(landing, "kuaishou_posts", D, ks)
    write_good(landing, "kuaishou_posts", D1, n=3)
    run_ingest(settings)
    assert query(settings, "SELECT count(*), count(likes) FROM raw.kuaishou_posts")[0] == (6, 5)

    report = run_quality(settings)

    assert (report.files_checked, report.critical_failures, report.warnings) == (2, [], [])
    ks_res = _gx(settings, "kuaishou_posts/kuaishou_posts_20260701.csv")
    assert ks_res[("kuaishou_posts", "expect_column_values_to_be_between", "likes")] == (True, 0, "critical")
    assert all(ok for ok, _, _ in ks_res.values()), ks_res
    assert query(settings, "SELECT count(*) FROM raw.quarantine WHERE reason = 'gx_critical'")[0][0] == 0
    assert_reconciles(settings)
