"""`make demo`, end to end, held against the simulator's ground truth.

Runs scripts/demo.sh (the real DAGs under `airflow dags test`, a real SMTP server) in a
private MP_HOME, twice, then checks what a user of each part relies on: every file
reconciles, the marts equal the truth, every recipient got exactly one pack, a second
run changes nothing, and no phone number, customer name or secret leaks into what the
pipeline wrote.
"""

from __future__ import annotations

import email
import importlib.util
import os
import re
import sys
from collections import Counter
from email import policy
from pathlib import Path

import duckdb
import pytest

from tests.e2e.conftest import expected_days, pack_mails

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_demo_prints_where_outputs_are(demo: dict) -> None:
    assert "Matrix Pulse demo outputs" in demo["out"]
    assert "e-mails received (.eml)" in demo["out"]


def test_every_file_reconciles(demo: dict) -> None:
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        bad = con.execute(
            "select file_name, rows_read, rows_loaded, rows_set_aside from meta.load_ledger "
            "where rows_read <> rows_loaded + rows_set_aside"
        ).fetchall()
        statuses = dict(con.execute(
            "select status, count(*) from meta.load_ledger group by 1").fetchall())  # fmt: skip
    assert bad == []
    final = [f for f in demo["manifest"]["files"] if f["final"]]
    # the demo pulls: an API day the simulator wrote as invalid JSON is a truncated answer, so a
    # failed pull (missing), never a rejected file; every other mess lands as written
    expected = expected_days(demo["manifest"])
    assert statuses.get("rejected", 0) == len(expected["rejected"])
    # make demo lands final deliveries only; re-deliveries replacing a day are covered by
    # tests/ingest/test_simulator_reconciliation.py, which replays the first deliveries too.
    assert statuses.get("loaded", 0) == sum(not f["rejected"] for f in final)


def test_the_demo_pulls_every_source_and_the_pull_ledger_reconciles(demo: dict) -> None:
    """`make demo` pulls through the HTTP and SFTP stand-ins: every configured source landed
    files; rejected + failed pulls are exactly the manifest's rejected files, and the days with
    no file in freshness are exactly the manifest's missing days plus the failed pulls."""
    import sqlite3

    from matrix_pulse.pull.config import load_pull_config

    expected = expected_days(demo["manifest"])
    assert expected["failed_pull"], "the demo's five quarters hold invalid-JSON API days"
    assert set(expected["rejected"]) | expected["failed_pull"] == expected["manifest_rejected"]
    assert not set(expected["rejected"]) & expected["failed_pull"]
    ledger = demo["home"] / "state" / "pull_ledger.sqlite"
    with sqlite3.connect(ledger) as con:
        last = dict(((s, d), o) for s, d, o in con.execute(
            "select source, data_date, outcome from pull_ledger order by attempt_id"))  # fmt: skip
        transports = dict(con.execute("select transport, count(*) from pull_ledger group by 1").fetchall())
    landed = {s for (s, _), o in last.items() if o in ("landed", "redelivered", "unchanged")}
    assert landed == set(load_pull_config().sources) & {f["source"] for f in demo["manifest"]["files"]}
    assert {"sftp", "wechat_oa", "wechat_channels", "bilibili"} <= set(transports)
    assert {k for k, o in last.items() if o == "failed"} == expected["failed_pull"]
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        missing = {(s, d.isoformat()) for s, d in con.execute(
            "select source, data_date from meta.source_freshness where status = 'missing'").fetchall()}  # fmt: skip
        rejected = {(s, d.isoformat()) for s, d in con.execute(
            "select source, data_date from meta.load_ledger where status = 'rejected'").fetchall()}  # fmt: skip
    assert missing == expected["missing"]
    assert rejected == set(expected["rejected"])


def test_marts_equal_the_ground_truth(demo: dict) -> None:
    truth = demo["manifest"]["truth"]
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        content = {
            (p, t): (v, e)
            for p, t, v, e in con.execute(
                "select platform, matrix_tier, sum(views), sum(engagements) "
                "from marts.fct_content_daily group by 1, 2"
            ).fetchall()
        }
        leads = {
            (p, t): (n, valid, arr, orders)
            for p, t, n, valid, arr, orders in con.execute(
                "select source_platform, source_matrix_tier, count(*), count(*) filter (where is_valid), "
                "count(*) filter (where is_valid and arrived_at is not null), "
                "count(*) filter (where is_valid and ordered_at is not null) "
                "from marts.fct_leads group by 1, 2"
            ).fetchall()
        }
    expected_content = {(p, t): (v["views"], v["engagements"]) for p, tiers in truth["content"].items()
                        for t, v in tiers.items()}  # fmt: skip
    assert {k: content.get(k) for k in expected_content} == expected_content
    expected_leads = {(p, t): (v["leads"], v["valid_leads"], v["arrivals"], v["orders"])
                      for p, tiers in truth["leads"].items() for t, v in tiers.items()}  # fmt: skip
    assert {k: leads.get(k) for k in expected_leads} == expected_leads
    # and nothing the truth does not know about
    assert sum(n for n, *_ in leads.values()) == sum(n for n, *_ in expected_leads.values())


def test_each_recipient_gets_exactly_one_pack(demo: dict) -> None:
    import yaml

    config = yaml.safe_load((REPO_ROOT / "config" / "audiences.yaml").read_text())
    recipients = [r for a in config["audiences"] for r in a["recipients"]]
    mailbox = demo["home"] / "outputs" / "mailbox"
    deliveries: set[tuple[str, str]] = set()  # (Message-ID, envelope recipient)
    for path in mailbox.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if "季度复盘" not in str(msg["Subject"]) or "质量门禁" in str(msg["Subject"]):
            continue
        kinds = {part.get_content_type() for part in msg.walk()}
        assert {"text/html", "image/png", "application/pdf"} <= kinds, path.name
        for addr in str(msg["X-Sink-Rcpt-To"]).split(","):
            deliveries.add((str(msg["Message-ID"]), addr.strip()))
    received = Counter(rcpt for _, rcpt in deliveries)
    assert received, f"no pack received in {mailbox}"
    for r in recipients:
        assert received[r] == 1, f"{r} received {received[r]} packs"


def test_second_run_changes_nothing(demo: dict) -> None:
    assert demo["raw_after"] == demo["raw_before"]
    # Packs are sent once; notices to the data team (overdue sources) are repeated by design.
    assert pack_mails(demo["home"]) == demo["mails_before"]


def _landing_pii(landing: Path) -> tuple[set[str], set[str]]:
    """Phone numbers (digits only) and customer names as the CRM dumps wrote them."""
    import csv
    import io

    phones, names = set(), set()
    for path in landing.glob("crm_*/*.csv"):
        for enc in ("utf-8-sig", "gb18030"):
            try:
                rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode(enc))))
                break
            except UnicodeDecodeError:
                continue
        else:
            continue
        for row in rows:
            phone = re.sub(r"\D", "", row.get("Phone") or row.get("手机号") or "")[-11:]
            if re.fullmatch(r"1[3-9]\d{9}", phone):
                phones.add(phone)
            names.add((row.get("CustomerName") or row.get("客户姓名") or "").strip())
    # Three-character names only: a two-character name (张伟) also occurs as an ordinary word in
    # titles and dealer names, which would make the check fail on text that is not a name.
    return phones, {n for n in names if len(n) >= 3}


def _public_words(landing: Path) -> set[str]:
    """Chinese words in the platform exports and the roster: public account names and titles.

    A creator's or employee's public handle (星驰顾问何敏萍) can share a customer's name by
    chance; such a name cannot tell a leak from a handle, so it is not looked for.
    """
    from python_calamine import CalamineWorkbook

    words: set[str] = set()
    for path in landing.glob("*/*.*"):
        if path.parent.name.startswith("crm_"):
            continue
        if path.suffix == ".xlsx":
            try:
                sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            except Exception:  # a deliberately truncated workbook
                continue
            text = "\n".join(c for row in sheet for c in row if isinstance(c, str))  # words are strings
        else:
            text = path.read_bytes().decode("utf-8", errors="ignore")
        words |= _cjk_words_in(text)
    return words


_MOBILE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")


def _phones_in(text: str) -> set[str]:
    """Mobile numbers written as a number of their own (not a window inside a longer digit run)."""
    return {"".join(m) for m in _MOBILE.findall(text)}


def _cjk_words_in(text: str) -> set[str]:
    """Every 3-4 character window of each run of Chinese characters (the names we look for)."""
    words: set[str] = set()
    # each distinct run once: the demo's exports hold ~2.1 M runs of 394 distinct ones (2026-12-08)
    for run in set(re.findall(r"[\u4e00-\u9fff]{3,}", text)):
        for size in (3, 4):
            words.update(run[i : i + size] for i in range(len(run) - size + 1))
    return words


def _text_of(path: Path) -> str:
    """A file's text; for a DuckDB file, every distinct string value of every table."""
    if path.suffix != ".duckdb":
        return path.read_bytes().decode("utf-8", errors="ignore")
    parts = []
    with duckdb.connect(str(path), read_only=True) as con:
        cols = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') or data_type like '%[]'"
        ).fetchall()
        for schema, table, column in cols:
            rows = con.execute(
                f'select distinct cast("{column}" as varchar) from "{schema}"."{table}"'
            ).fetchall()
            parts += [r[0] for r in rows if r[0]]
    return "\n".join(parts)


def test_no_personal_information_or_secret_leaves_the_load_step(demo: dict) -> None:
    home: Path = demo["home"]
    phones, names = _landing_pii(home / "landing")
    names -= _public_words(home / "landing")
    assert phones and names
    written = [home / d for d in ("warehouse", "published", "outputs", "gx", "dbt_target", "demo_logs")]
    written.append(Path(os.environ.get("AIRFLOW_HOME", REPO_ROOT / "airflow_home")) / "logs")
    leaks = []
    for folder in written:
        for path in folder.rglob("*") if folder.exists() else []:
            if not path.is_file():
                continue
            text = _text_of(path)
            if _phones_in(text) & phones or _cjk_words_in(text) & names:
                leaks.append(str(path))
    assert leaks == []
    spec = importlib.util.spec_from_file_location(
        "secret_scan", REPO_ROOT / "tests" / "ops" / "secret_scan.py"
    )
    scan = importlib.util.module_from_spec(spec)
    # registered before it runs: its dataclasses look their module up in sys.modules
    sys.modules[spec.name] = scan
    spec.loader.exec_module(scan)
    secrets = scan.known_secret_values(mp_home=home)
    assert scan.scan_for_secrets(written, secrets) == []
