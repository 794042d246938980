"""End to end against a real SMTP server: MIME structure, PDF, XLSX, exactly-once sending."""

from __future__ import annotations

import email
import io
import zipfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from matrix_pulse.report import flow
from matrix_pulse.report.ledger import SendLedger
from matrix_pulse.report.mailer import SendFailed

pytestmark = pytest.mark.slow


def _mails(sink) -> list[EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sink.messages]


def _for(mails, rcpt: str, subject_has: str = "") -> list[EmailMessage]:
    return [m for m in mails if m["X-Sink-Rcpt-To"] == rcpt and subject_has in m["Subject"]]


@pytest.fixture(scope="module")
def built_east(report_env) -> dict:
    return flow.build_job({"quarter": "2026Q3", "audience": "huadong"}, "run-1", resend=False)


@pytest.fixture(scope="module")
def sent_east(report_env, built_east) -> dict:
    return flow.send_job(built_east, "run-1")


def test_received_message_structure(report_env, sent_east) -> None:
    assert sent_east["sent"] == ["huadong-marketing@example.com"]
    [msg] = _for(_mails(report_env["sink"]), "huadong-marketing@example.com")
    assert msg["To"] == "huadong-marketing@example.com"
    assert msg["Subject"] == "【季度复盘】2026年第三季度新媒体矩阵复盘 · 华东大区"
    assert msg["Message-ID"].endswith("@matrix-pulse.example.com>")
    html = msg.get_body(("html",)).get_content()
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    pngs = {p["Content-ID"].strip("<>"): p for p in msg.walk() if p.get_content_type() == "image/png"}
    cids = {c for c in pngs}
    assert len(cids) == 5
    for cid in cids:
        assert f'src="cid:{cid}"' in html
        assert pngs[cid].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    attachments = {
        a.get_filename(): a for a in msg.iter_attachments() if a.get_content_disposition() == "attachment"
    }
    assert set(attachments) == {
        "MatrixPulse_2026Q3_huadong_issue1.pdf",
        "MatrixPulse_2026Q3_huadong_issue1.xlsx",
    }
    assert "华东" in html and "总曝光" in html


def test_pdf_renders_and_chinese_is_extractable(report_env, sent_east) -> None:
    import pypdf
    import pypdfium2 as pdfium

    [msg] = _for(_mails(report_env["sink"]), "huadong-marketing@example.com")
    pdf_bytes = next(a for a in msg.iter_attachments() if a.get_filename().endswith(".pdf")).get_content()
    doc = pdfium.PdfDocument(pdf_bytes)
    assert len(doc) >= 6
    image = doc[0].render(scale=0.5).to_pil()
    assert image.size[0] > 200 and image.getextrema() != ((255, 255), (255, 255), (255, 255))
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages)
    for phrase in ("华东大区", "核心指标", "千城万店", "数据健康", "下季度建议", "宁波鄞州永达汽车"):
        assert phrase in text, phrase
    assert "广州天河粤宝汽车" not in text  # a 华南 dealer never appears in the 华东 pack
    # The creator table is capped at the audiences file's creator_rows_in_pdf (4 of the fixture's 10).
    assert "本表列出前4行，共10行；完整名单见随附Excel工作表“达人ROI”" in "".join(text.split())
    # The running header and the page-number footer (CSS @page margin boxes): every page has
    # "第 i / n 页", every page but the cover has the quarter and scope at the top.
    pages = ["".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages]
    for i, page in enumerate(pages, start=1):
        assert f"第{i}/{len(pages)}页" in page and "内部资料·请勿外传" in page, i
        assert ("2026Q3·华东大区" in page) == (i > 1), i
    # The CJK font is embedded as a real font (TrueType outlines), not as Type 3 glyph drawings.
    fonts = {f.get_object()["/Subtype"] for page in pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages
             for f in page["/Resources"].get("/Font", {}).values()}  # fmt: skip
    assert fonts and "/Type3" not in fonts, fonts


def test_xlsx_holds_every_table(report_env, sent_east, built_east) -> None:
    import re

    [msg] = _for(_mails(report_env["sink"]), "huadong-marketing@example.com")
    data = next(a for a in msg.iter_attachments() if a.get_filename().endswith(".xlsx")).get_content()
    # No openpyxl in the venv: read the OOXML parts directly.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = set(re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode()))
        strings = z.read("xl/sharedStrings.xml").decode()
    assert {
        "说明",
        "核心指标",
        "矩阵视图",
        "平台对比",
        "经销商记分卡",
        "达人ROI",
        "数据健康",
        "沉默账号",
    } <= sheets
    assert "宁波鄞州永达汽车" in strings and "广州天河粤宝汽车" not in strings and "华南" not in strings
    # ...but the XLSX keeps every creator deal (the fixture has 10 KOL/KOC deals in 2026Q3).
    from python_calamine import CalamineWorkbook

    creators = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("达人ROI").to_python()
    assert sum(1 for row in creators[1:] if row[0] and row[1]) == 10


def test_failure_after_acceptance_does_not_duplicate(report_env, monkeypatch) -> None:
    sink = report_env["sink"]
    built = flow.build_job({"quarter": "2026Q3", "audience": "hq"}, "run-2", resend=False)
    real_mark_sent = SendLedger.mark_sent
    calls = {"n": 0}

    def crash_after_server_accepted(self, mid):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker killed after the server said 250")
        real_mark_sent(self, mid)

    monkeypatch.setattr(SendLedger, "mark_sent", crash_after_server_accepted)
    with pytest.raises(RuntimeError, match="250"):
        flow.send_job(built, "run-2")
    monkeypatch.setattr(SendLedger, "mark_sent", real_mark_sent)
    retry = flow.send_job(built, "run-2")  # the task retry
    rerun = flow.send_job(flow.build_job({"quarter": "2026Q3", "audience": "hq"}, "run-3", False), "run-3")
    mails = _mails(sink)
    for rcpt in ("cmo@example.com", "marketing-hq@example.com"):
        assert len(_for(mails, rcpt, "全国")) == 1, rcpt
    assert retry["unconfirmed"] == ["cmo@example.com"] and retry["sent"] == ["marketing-hq@example.com"]
    assert rerun["status"] == "already_sent"
    notice = _for(mails, "data-team@example.com", "投递状态未知")
    assert notice and "cmo@example.com" in notice[0].get_body(("html",)).get_content()


def test_temporary_smtp_failure_is_retried_once_accepted(report_env) -> None:
    sink = report_env["sink"]
    built = flow.build_job({"quarter": "2026Q3", "audience": "huadong"}, "run-4", resend=True)
    assert built["issue"] == 2
    sink.fail_next(1)
    with pytest.raises(SendFailed, match="451"):
        flow.send_job(built, "run-4")
    assert SendLedger().get("2026Q3", "huadong", "huadong-marketing@example.com", 2).status == "failed"
    # The task retry of the same run re-uses the issue it created (no second bump).
    assert SendLedger().issue_for_run("2026Q3", "huadong", "run-4", resend=True) == 2
    assert flow.send_job(built, "run-4")["sent"] == ["huadong-marketing@example.com"]
    mails = _for(_mails(sink), "huadong-marketing@example.com")
    assert len(mails) == 2  # issue 1 and the explicit re-issue 2
    assert len({m["Message-ID"] for m in mails}) == 2
    assert "第2期" in mails[-1]["Subject"] or "第2期" in sorted(m["Subject"] for m in mails)[-1]


def test_quality_gate_blocks_and_notifies(tmp_path: Path, blocked_db: Path, monkeypatch) -> None:
    from matrix_pulse.ops.smtp_sink import SmtpSink

    from tests.report.conftest import make_home, smtp_conn_json

    home = make_home(tmp_path, blocked_db)
    monkeypatch.setenv("MP_HOME", str(home))
    monkeypatch.setenv("MP_AUDIENCES_FILE", str(home / "audiences.yaml"))
    monkeypatch.setenv("MP_ALERT_EMAILS", "data-team@example.com")
    with SmtpSink(tmp_path / "mailbox") as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn_json(sink.port))
        result = flow.gate_quarters(["2026Q3"])
        mails = _mails(sink)
    assert result["jobs"] == [] and result["gates"]["2026Q3"]["passed"] is False
    assert [m["X-Sink-Rcpt-To"] for m in mails] == ["data-team@example.com"]
    body = mails[0].get_body(("html",)).get_content()
    assert "质量门禁" in mails[0]["Subject"] and "douyin_posts 2026-08-20" in body


def test_server_gone_between_two_messages_only_that_recipient_is_retried(
    report_env, monkeypatch, tmp_path
) -> None:
    """Issue 14: the SMTP server disappears after the first message of a pack; the second
    fails at MAIL FROM (before any data), is marked failed at that phase and is sent by the
    retry; nobody gets a copy twice."""
    from matrix_pulse.ops.smtp_sink import SmtpSink

    from tests.report.conftest import smtp_conn_json

    box = tmp_path / "box"
    sink = SmtpSink(box).start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn_json(sink.port))
    built = flow.build_job({"quarter": "2026Q3", "audience": "hq"}, "run-gone", resend=True)
    issue = built["issue"]
    real_mark_sent = SendLedger.mark_sent

    def server_goes_away_after_first(self, mid):
        real_mark_sent(self, mid)
        sink.stop()

    monkeypatch.setattr(SendLedger, "mark_sent", server_goes_away_after_first)
    with pytest.raises(SendFailed, match="MAIL FROM|connect"):
        flow.send_job(built, "run-gone")
    monkeypatch.setattr(SendLedger, "mark_sent", real_mark_sent)
    ledger = SendLedger()
    assert ledger.get("2026Q3", "hq", "cmo@example.com", issue).status == "sent"
    second = ledger.get("2026Q3", "hq", "marketing-hq@example.com", issue)
    assert second.status == "failed"
    assert ledger.failed_phase("2026Q3", "hq", "marketing-hq@example.com", issue) in ("MAIL FROM", "connect")
    with SmtpSink(box, port=sink.port):  # the server is back: the task retry
        retry = flow.send_job(built, "run-gone")
    assert retry["sent"] == ["marketing-hq@example.com"] and retry["already_sent"] == ["cmo@example.com"]
    got = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(box.glob("*.eml"))]
    assert {m["X-Matrix-Pulse-Pack"] for m in got} == {f"2026Q3/hq/issue{issue}"}
    assert sorted(m["X-Sink-Rcpt-To"] for m in got) == ["cmo@example.com", "marketing-hq@example.com"]


def test_resend_can_target_one_recipient(report_env) -> None:
    sink = report_env["sink"]
    before = len(_mails(sink))
    ledger = SendLedger()
    issue = ledger.issue_for_run(
        "2026Q3", "hq", "run-target", resend=True, recipients=["marketing-hq@example.com"]
    )
    built = flow.build_job({"quarter": "2026Q3", "audience": "hq"}, "run-target", resend=True)
    assert built["issue"] == issue  # the run's own re-issue, created once
    out = flow.send_job(built, "run-target")
    assert out["sent"] == ["marketing-hq@example.com"]
    new = _mails(sink)[before:]
    assert [m["X-Sink-Rcpt-To"] for m in new] == ["marketing-hq@example.com"]
    assert ledger.issue_recipients("2026Q3", "hq", issue) == ["marketing-hq@example.com"]
    assert ledger.get("2026Q3", "hq", "cmo@example.com", issue) is None  # nobody else got a second copy
