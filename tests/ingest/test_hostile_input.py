"""Issue 14, ingest side: each attack or fault is reproduced with a real file through the real
loader, and the rest of the day still loads (rows read = loaded + set aside).

Probes: an xlsx whose only cell is at XFD1048576 (declared, and with the declaration
stripped so only the worker's memory limit stands in the way), an xlsx with one 1 GB and
one 100 MB shared string, JSON nested 10,000 levels, data dates 99991231 / 20991231 /
00010101, a symlink to the PII key file, a FIFO, a name with a newline, a linked source
folder, and an unknown header quoted in a reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from matrix_pulse.ingest import refresh_freshness, run_ingest
from matrix_pulse.settings import Settings

from .conftest import assert_reconciles, query
from .fixtures import good_rows, write_all_good, write_csv, write_xlsx

D = dt.date(2026, 7, 1)


def ledger(settings: Settings) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in query(settings, "SELECT file_name, status, reason FROM meta.load_ledger")}


def ignored(settings: Settings) -> dict[str, str]:
    return {r[0]: r[1] for r in query(settings, "SELECT file_name, reason FROM meta.ignored_files")}


def assert_good_day_loaded(settings: Settings, exclude: set[str]) -> None:
    """Every clean file of the day (all but ``exclude`` folders) is loaded, and all reconcile."""
    rows = query(settings, "SELECT source, status FROM meta.load_ledger WHERE status <> 'rejected'")
    loaded = {s for s, st in rows if st == "loaded"}
    folders = {r[0] for r in query(settings, "SELECT DISTINCT source FROM meta.load_ledger")}
    assert loaded >= folders - exclude, f"not loaded: {folders - exclude - loaded}"
    assert_reconciles(settings)


def rewrite_zip(path: Path, replace: dict[str, object]) -> None:
    """Copy an xlsx, replacing parts: bytes, or a callable(writer) streaming the new content."""
    tmp = path.with_suffix(".tmp.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            new = replace.get(item.filename)
            if new is None:
                dst.writestr(item, src.read(item.filename))
            elif isinstance(new, bytes):
                dst.writestr(item.filename, new)
            else:
                with dst.open(item.filename, "w", force_zip64=True) as fh:
                    new(fh)
    os.replace(tmp, path)


# --- 1. per-file reader boundary ----------------------------------------------------------


def test_xlsx_with_one_cell_at_xfd1048576_is_set_aside_and_the_day_loads(settings: Settings) -> None:
    write_all_good(settings.landing_dir, D)
    path = settings.landing_dir / "douyin_posts" / "douyin_posts_20260701.xlsx"
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("作品数据")
    ws.write_string(0, 0, "账号ID")  # with A1, the used range A1:XFD1048576 is 17 billion cells (~549 GB)
    ws.write_string(1048575, 16383, "x")  # XFD1048576
    wb.close()
    assert path.stat().st_size < 10_000
    run_ingest(settings)
    status, reason = ledger(settings)["douyin_posts/douyin_posts_20260701.xlsx"]
    assert status == "rejected"
    assert (
        "douyin_posts_20260701.xlsx" in reason
        and "A1:XFD1048576" in reason
        and "MP_READER_MAX_CELLS" in reason
    )
    assert_good_day_loaded(settings, {"douyin_posts"})


def test_xlsx_far_cell_without_a_declared_range_hits_the_worker_memory_limit(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No <dimension> to check: the reader really tries to allocate; the worker's address-space
    limit stops it, that file is set aside, a new worker reads the next file."""
    monkeypatch.setenv("MP_READER_MEMORY_MB", "1024")
    write_all_good(settings.landing_dir, D)
    path = settings.landing_dir / "xiaohongshu_notes" / "xiaohongshu_notes_20260701.xlsx"
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_string(0, 0, "账号ID")
    ws.write_string(1048575, 16383, "x")
    wb.close()
    with zipfile.ZipFile(path) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    stripped = sheet.replace(b'<dimension ref="A1:XFD1048576"/>', b"")
    assert stripped != sheet
    rewrite_zip(path, {"xl/worksheets/sheet1.xml": stripped})
    run_ingest(settings)
    status, reason = ledger(settings)["xiaohongshu_notes/xiaohongshu_notes_20260701.xlsx"]
    assert status == "rejected"
    assert "xiaohongshu_notes_20260701.xlsx" in reason and "MP_READER_MEMORY_MB" in reason, reason
    assert_good_day_loaded(settings, {"xiaohongshu_notes"})


def _xlsx_with_huge_title(settings: Settings, chars: int, date: dt.date) -> Path:
    rows = good_rows("douyin_posts", date, 2)
    rows[0]["作品名称"] = "PLACEHOLDER_TITLE"
    path = write_xlsx(settings.landing_dir, "douyin_posts", date, rows)
    with zipfile.ZipFile(path) as zf:
        shared = zf.read("xl/sharedStrings.xml")
    before, after = shared.split(b"PLACEHOLDER_TITLE")

    def stream(fh) -> None:
        fh.write(before)
        block = b"A" * (1 << 20)
        for _ in range(chars >> 20):
            fh.write(block)
        fh.write(after)

    rewrite_zip(path, {"xl/sharedStrings.xml": stream})
    return path


@pytest.mark.parametrize(
    ("mb", "limit"), [(1024, "MP_READER_MAX_PART_MB"), (100, "MP_READER_MAX_CELL_CHARS")]
)
def test_xlsx_with_a_huge_shared_string_is_set_aside(settings: Settings, mb: int, limit: str) -> None:
    write_all_good(settings.landing_dir, D)
    (settings.landing_dir / "douyin_posts" / "douyin_posts_20260701.xlsx").unlink()
    path = _xlsx_with_huge_title(settings, mb << 20, D)
    assert path.stat().st_size < 2 * 1024 * 1024  # a 1-2 MB file
    run_ingest(settings)
    status, reason = ledger(settings)["douyin_posts/douyin_posts_20260701.xlsx"]
    assert status == "rejected" and limit in reason, reason
    assert len(reason) < 400
    longest = query(settings, "SELECT max(length(title)) FROM raw.douyin_posts")[0][0]
    assert longest is None  # nothing of that file reached raw
    assert_good_day_loaded(settings, {"douyin_posts"})


def test_json_nested_10000_levels_is_set_aside(settings: Settings) -> None:
    write_all_good(settings.landing_dir, D)
    path = settings.landing_dir / "bilibili_videos" / "bilibili_videos_20260701.json"
    path.write_text("[" * 10_000 + "]" * 10_000)
    run_ingest(settings)
    status, reason = ledger(settings)["bilibili_videos/bilibili_videos_20260701.json"]
    assert (
        status == "rejected"
        and "MP_READER_MAX_NESTING" in reason
        and "bilibili_videos_20260701.json" in reason
    )
    assert_good_day_loaded(settings, {"bilibili_videos"})


def test_csv_with_a_100_mb_cell_is_set_aside_naming_row_column_and_limit(settings: Settings) -> None:
    """CSVs are read by DuckDB, not the limited worker: the same cell limit as xlsx/JSON holds."""
    from matrix_pulse.sources import SOURCES

    write_all_good(settings.landing_dir, D)
    src = SOURCES["kuaishou_posts"]
    title = next(c for c in src.columns if c.kind == "text" and c.name not in src.key)
    rows = good_rows("kuaishou_posts", D, 5)
    rows[2][title.source_name] = "标" * (100 << 20)  # row 3: a 100 MB (300 MB in UTF-8) title
    write_csv(settings.landing_dir, "kuaishou_posts", D, rows)
    run_ingest(settings)
    status, reason = ledger(settings)["kuaishou_posts/kuaishou_posts_20260701.csv"]
    assert status == "rejected", reason
    for part in ("kuaishou_posts_20260701.csv", "row 3 ", f"'{title.source_name}'", "104,857,600",
                 "32,767", "MP_READER_MAX_CELL_CHARS"):  # fmt: skip
        assert part in reason, (part, reason)
    assert len(reason) < 400
    assert query(settings, "SELECT count(*) FROM raw.kuaishou_posts")[0][0] == 0
    assert_good_day_loaded(settings, {"kuaishou_posts"})


@pytest.mark.parametrize("row", [1, 4])
def test_csv_cell_over_the_limit_but_under_duckdbs_line_cap_is_set_aside(
    settings: Settings, row: int
) -> None:
    """A 40,000-character cell is far under DuckDB's line-size cap: DuckDB's read itself must
    refuse it (the loader then names its row and column), wherever it sits in the file."""
    from matrix_pulse.sources import SOURCES

    write_all_good(settings.landing_dir, D)
    src = SOURCES["kuaishou_posts"]
    title = next(c for c in src.columns if c.kind == "text" and c.name not in src.key)
    rows = good_rows("kuaishou_posts", D, 5)
    rows[row - 1][title.source_name] = "a" * 40_000
    write_csv(settings.landing_dir, "kuaishou_posts", D, rows)
    run_ingest(settings)
    status, reason = ledger(settings)["kuaishou_posts/kuaishou_posts_20260701.csv"]
    assert status == "rejected", reason
    for part in (f"row {row} ", f"'{title.source_name}'", "40,000", "32,767", "MP_READER_MAX_CELL_CHARS"):
        assert part in reason, (part, reason)
    assert query(settings, "SELECT count(*) FROM raw.kuaishou_posts")[0][0] == 0
    assert_good_day_loaded(settings, {"kuaishou_posts"})


def test_csv_cell_of_many_bytes_but_few_characters_loads(settings: Settings) -> None:
    """The limit counts characters: 20,000 Chinese characters (60,000 bytes in UTF-8) load."""
    from matrix_pulse.sources import SOURCES

    src = SOURCES["kuaishou_posts"]
    title = next(c for c in src.columns if c.kind == "text" and c.name not in src.key)
    rows = good_rows("kuaishou_posts", D, 3)
    rows[1][title.source_name] = "标" * 20_000
    write_csv(settings.landing_dir, "kuaishou_posts", D, rows)
    run_ingest(settings)
    status, reason = ledger(settings)["kuaishou_posts/kuaishou_posts_20260701.csv"]
    assert status == "loaded", reason
    assert query(settings, f"SELECT max(length({title.name})) FROM raw.kuaishou_posts")[0][0] == 20_000


def test_xlsx_cell_of_many_bytes_but_few_characters_loads(settings: Settings) -> None:
    """The xlsx limit counts characters too (bytes only tell which columns to count): 20,000
    Chinese characters (60,000 bytes in UTF-8) load. A cell over the limit is set aside by
    test_xlsx_with_a_huge_shared_string_is_set_aside."""
    rows = good_rows("douyin_posts", D, 3)
    rows[1]["作品名称"] = "标" * 20_000
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows)
    run_ingest(settings)
    status, reason = ledger(settings)["douyin_posts/douyin_posts_20260701.xlsx"]
    assert status == "loaded", reason
    assert query(settings, "SELECT max(length(title)) FROM raw.douyin_posts")[0][0] == 20_000


def test_one_worker_serves_every_file_and_the_next_run(settings: Settings) -> None:
    """Cost guard (issue 17): the reader process is started once, not per file or per run."""
    from matrix_pulse.ingest.isolation import FileReaderPool

    pool = FileReaderPool.shared()
    write_all_good(settings.landing_dir, D)
    run_ingest(settings)
    started = pool.started
    write_all_good(settings.landing_dir, D + dt.timedelta(days=1))
    run_ingest(settings)
    assert FileReaderPool.shared() is pool and pool.started == started
    assert len(ledger(settings)) == 2 * len(
        {r[0] for r in query(settings, "SELECT source FROM meta.load_ledger")}
    )
    assert_good_day_loaded(settings, set())


def test_the_worker_parses_the_next_file_while_the_loader_stages_one(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: as soon as the loader takes an xlsx/JSON file's columns, the worker holds the
    next xlsx/JSON file of the chunk (in arrival order), so parsing and appending overlap."""
    from matrix_pulse.ingest import loader

    write_all_good(settings.landing_dir, D)
    seen: list[tuple[str, str | None, str | None]] = []
    take = loader._ReadAhead.take

    def take_and_look(self, rf):
        staged = take(self, rf)
        nxt = self.reading
        seen.append((rf.f.path.name, nxt.f.path.name if nxt else None, self.ctx.readers.pending))
        return staged

    monkeypatch.setattr(loader._ReadAhead, "take", take_and_look)
    run_ingest(settings)
    names = [name for name, _, _ in seen]
    assert len(names) >= 4 and len(set(names)) == len(names)
    assert not any(n.endswith(".csv") for n in names)
    for (_, nxt, pending), (following, _, _) in zip(seen, seen[1:], strict=False):
        assert nxt == pending == following  # the next one was already in the worker
    assert seen[-1][1:] == (None, None)
    assert_good_day_loaded(settings, set())


def test_the_worker_reads_the_next_chunks_while_the_loader_settles_one(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the chunks after this one are admitted (ADMIT_AHEAD of them) and their xlsx/JSON files
    queued before this chunk is normalised and applied, and the worker reads them meanwhile,
    without the loader asking."""
    from matrix_pulse.ingest import loader

    write_all_good(settings.landing_dir, D)
    settings = settings.model_copy(update={"ingest_chunk_mb": 1e-6})  # a chunk per source-day
    settle, admit = loader._settle_chunk, loader._admit_chunk
    seen: list[tuple[str, bool]] = []
    events: list[str] = []

    def admit_and_note(ctx, chunk, summary, reads):
        events.append("admit")
        return admit(ctx, chunk, summary, reads)

    def settle_and_look(ctx, files, staged_sources):
        events.append("settle")
        nxt = ctx.readers.pending
        if nxt is not None:
            assert nxt not in {rf.f.path.name for rf in files}  # queued from a later chunk
            settle(ctx, files, staged_sources)
            deadline = time.monotonic() + 60
            while nxt not in ctx.readers.read_ahead and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.append((nxt, nxt in ctx.readers.read_ahead))  # read, and not yet taken
        else:
            settle(ctx, files, staged_sources)

    monkeypatch.setattr(loader, "_settle_chunk", settle_and_look)
    monkeypatch.setattr(loader, "_admit_chunk", admit_and_note)
    run_ingest(settings)
    assert len(seen) >= 4 and all(read for _, read in seen), seen
    # Before chunk k is settled, chunks 0..k+3 are admitted (all of them near the end).
    assert loader.ADMIT_AHEAD == 3
    chunks = events.count("admit")
    settles = [i for i, e in enumerate(events) if e == "settle"]
    assert chunks >= 6 and len(settles) == chunks
    assert [events[:i].count("admit") for i in settles] == [min(k + 4, chunks) for k in range(chunks)]
    assert_good_day_loaded(settings, set())


def test_a_file_over_the_time_limit_is_set_aside_and_the_next_goes_to_a_fresh_worker(
    settings: Settings,
) -> None:
    """MP_READER_TIMEOUT_S: a file whose read overruns is set aside by name and the worker is
    replaced; the CSVs of the day load. (A limit no read can meet makes every xlsx/JSON overrun.)"""
    from matrix_pulse.ingest.isolation import FileReaderPool

    write_all_good(settings.landing_dir, D)
    settings = settings.model_copy(update={"reader_timeout_s": 0.001})
    pool = FileReaderPool.shared(settings.input_limits())
    started = pool.started
    run_ingest(settings)
    read_by_worker = {n: r for n, (st, r) in ledger(settings).items() if not n.endswith(".csv")}
    assert len(read_by_worker) >= 4
    for name, reason in read_by_worker.items():
        assert (
            reason.startswith(name.split("/")[-1]) and "longer than 0.001 s (MP_READER_TIMEOUT_S)" in reason
        )
    assert {st for n, (st, _) in ledger(settings).items() if n in read_by_worker} == {"rejected"}
    assert pool.started - started == len(read_by_worker)  # a fresh worker after each
    loaded = {n for n, (st, _) in ledger(settings).items() if st == "loaded"}
    assert loaded and all(n.endswith(".csv") for n in loaded)
    assert_reconciles(settings)


def test_a_run_that_stops_mid_chunk_leaves_no_read_for_the_next_run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails while the worker holds the next file (here: the warehouse refuses the
    first append) must not hand that file's columns to the next run's first read."""
    from matrix_pulse.ingest import loader
    from matrix_pulse.ingest.isolation import FileReaderPool

    write_all_good(settings.landing_dir, D)
    append = loader._append
    calls = {"n": 0}

    def broken_append(ctx, rf, st, cmap):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the warehouse went away")
        return append(ctx, rf, st, cmap)

    monkeypatch.setattr(loader, "_append", broken_append)
    with pytest.raises(RuntimeError, match="went away"):
        run_ingest(settings)
    assert FileReaderPool.shared().pending is None
    run_ingest(settings)  # the next run: every file loads with its own rows
    assert_good_day_loaded(settings, set())
    assert {st for (st,) in query(settings, "SELECT DISTINCT status FROM meta.load_ledger")} == {"loaded"}


# --- 2. data dates outside the window -----------------------------------------------------


def test_data_dates_outside_the_window_are_set_aside_and_freshness_stays_small(settings: Settings) -> None:
    write_all_good(settings.landing_dir, D)
    for stamp in ("99991231", "20991231", "00010101"):
        (settings.landing_dir / "douyin_posts" / f"douyin_posts_{stamp}.xlsx").write_bytes(
            (settings.landing_dir / "douyin_posts" / "douyin_posts_20260701.xlsx").read_bytes()
        )
    run_ingest(settings)
    refused = ignored(settings)
    for stamp in ("99991231", "20991231", "00010101"):
        reason = refused[f"douyin_posts/douyin_posts_{stamp}.xlsx"]
        assert f"data date {stamp}" in reason and "outside the accepted window" in reason
    assert not [n for n in ledger(settings) if "2099" in n or "9999" in n or "0001" in n]
    report = refresh_freshness(settings, through=D)
    assert report.rows == len({r[0] for r in query(settings, "SELECT source FROM meta.source_freshness")})
    assert_good_day_loaded(settings, set())


# --- 3. landing folders trust nothing -----------------------------------------------------

SECRET = "k3y-" + "5e" * 30  # stands in for the HMAC key file's content


def _everything_recorded(settings: Settings) -> str:
    """Every text the warehouse holds about the run (ledger, ignored, quarantine, runs) plus the archive."""
    con_text = []
    for table in ("meta.load_ledger", "meta.ignored_files", "raw.quarantine", "meta.ingest_runs"):
        con_text += [repr(r) for r in query(settings, f"SELECT * FROM {table}")]
    for p in settings.archive_dir.rglob("*"):
        con_text.append(p.name)
        if p.is_file():
            con_text.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(con_text)


def test_symlink_to_the_key_file_is_refused_and_the_key_leaks_nowhere(
    settings: Settings, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    key_file = settings.hmac_key_file
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(SECRET)
    write_all_good(settings.landing_dir, D)
    link = settings.landing_dir / "crm_dcc" / "crm_dcc_20260702.csv"
    link.symlink_to(key_file)
    with caplog.at_level(logging.DEBUG):
        summary = run_ingest(settings)
    print(summary.describe())
    assert "symbolic link refused" in ignored(settings)["crm_dcc/crm_dcc_20260702.csv"]
    leaked = _everything_recorded(settings) + caplog.text + capsys.readouterr().out + repr(summary)
    assert SECRET[:12] not in leaked
    assert_good_day_loaded(settings, set())


def test_linked_source_folder_is_refused(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_all_good(settings.landing_dir, D)
    shutil.move(
        settings.landing_dir / "weibo_posts" / "weibo_posts_20260701.csv",
        outside / "weibo_posts_20260701.csv",
    )
    (settings.landing_dir / "weibo_posts").rmdir()
    (settings.landing_dir / "weibo_posts").symlink_to(outside)
    run_ingest(settings)
    assert "symbolic link refused" in ignored(settings)["weibo_posts/"]
    assert "weibo_posts/weibo_posts_20260701.csv" not in ledger(settings)
    assert_good_day_loaded(settings, set())


def test_fifo_and_control_character_names_are_refused(settings: Settings) -> None:
    write_all_good(settings.landing_dir, D)
    fifo = settings.landing_dir / "dealers" / "dealers_20260702.csv"
    os.mkfifo(fifo)  # a read would block the run forever
    forged = settings.landing_dir / "campaigns" / "campaigns_20260702_\nINFO all good.csv"
    forged.write_bytes((settings.landing_dir / "campaigns" / "campaigns_20260701.csv").read_bytes())
    bidi = settings.landing_dir / "creator_costs" / "creator_costs_20260702_\u202evsc.csv"
    bidi.write_bytes(b"x")
    summary = run_ingest(settings)
    refused = ignored(settings)
    assert "FIFO refused" in refused["dealers/dealers_20260702.csv"]
    assert "control/format character" in refused["campaigns/campaigns_20260702_\\nINFO all good.csv"]
    assert "\\u202e" in refused["creator_costs/creator_costs_20260702_\\u202evsc.csv"]
    assert "\n" not in "".join(refused) and "\n" not in summary.describe().replace("\n  ", " ")
    assert not [p for p in settings.archive_dir.rglob("*") if "\n" in p.name]
    assert_good_day_loaded(settings, set())


def test_unknown_header_is_quoted_bounded_and_escaped(settings: Settings) -> None:
    write_all_good(settings.landing_dir, D)
    header = SECRET * 3 + "\nFAKE LOG LINE"
    write_csv(settings.landing_dir, "dealers", D + dt.timedelta(days=1), [{header: "1"}], headers=[header])
    run_ingest(settings)
    status, reason = ledger(settings)["dealers/dealers_20260702.csv"]
    assert status == "rejected" and "required column" in reason
    assert "\n" not in reason and SECRET * 2 not in reason and "…(+" in reason
    assert_good_day_loaded(settings, set())
