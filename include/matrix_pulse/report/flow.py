"""What the mp_report DAG tasks call: plan quarters, gate, build, send, summarise.

Kept out of the DAG file so it can be tested without a scheduler and so the DAG file
parses without pandas, matplotlib or playwright.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from matrix_pulse.report.quarters import Quarter, quarter_just_ended
from matrix_pulse.settings import TIMEZONE, get_settings

log = logging.getLogger(__name__)


def _connect():
    import duckdb

    path = get_settings().published_path
    if not path.exists():
        raise FileNotFoundError(f"published marts not found at {path}: run mp_transform first")
    return duckdb.connect(str(path), read_only=True)


def plan_quarters(param_quarter: str | None, logical_date: datetime | None, asset_extras: Iterable[Mapping],
                  today: date | None = None) -> list[str]:  # fmt: skip
    """Which quarter(s) this run reports.

    - ``params.quarter`` set (manual trigger): exactly that quarter.
    - asset-triggered (the published marts were rebuilt): the quarter(s) named in the
      asset event's extra (``quarter`` or ``quarters``) if the publisher sent them, else
      the latest quarter that has ended and has data. Exactly-once still applies: an
      already-sent quarter is not sent again (only ``resend`` does that), so a nightly
      rebuild re-issues nothing, and a quarter still in progress is never sent.
    - scheduled (5 Jan/Apr/Jul/Oct, 09:00): the quarter that just ended.
    """
    today = today or datetime.now(ZoneInfo(TIMEZONE)).date()
    if param_quarter:
        return [Quarter.parse(param_quarter).label]
    extras = list(asset_extras)
    if extras:
        named: list[str] = []
        for extra in extras:
            for key in ("quarters", "quarter"):
                value = (extra or {}).get(key)
                named += [value] if isinstance(value, str) else list(value or [])
        ended = sorted({Quarter.parse(q) for q in named if Quarter.parse(q).end < today})
        if ended:
            return [q.label for q in ended]
        from matrix_pulse.report import queries

        with _connect() as con:
            with_data = [Quarter.parse(q) for q in queries.quarter_labels_with_data(con)]
        done = [q for q in with_data if q.end < today]
        return [max(done).label] if done else []
    return [quarter_just_ended(logical_date or today).label]


def gate_quarters(quarters: list[str]) -> dict[str, Any]:
    """Run the quality gate per quarter; notify the data team of each blocked one.

    Returns {"jobs": [{"quarter", "audience"} for passing quarters], "gates": {quarter: result}}.
    """
    from matrix_pulse.report import gate
    from matrix_pulse.report.audiences import load_config

    cfg = load_config()
    jobs, gates = [], {}
    with _connect() as con:
        for q in quarters:
            result = gate.evaluate(con, Quarter.parse(q), cfg.gate)
            gates[q] = result.as_dict()
            if result.passed:
                jobs += [{"quarter": q, "audience": a.id} for a in cfg.audiences]
            else:
                log.warning("quality gate blocked %s: %s", q, result.reasons)
                notify_gate_blocked(result)
    return {"jobs": jobs, "gates": gates}


def notify_gate_blocked(result) -> None:
    from matrix_pulse.report.mailer import notify_data_team

    items = "".join(f"<li>{html.escape(r)}</li>" for r in result.reasons)
    body = (
        f"<p>{result.quarter} 季度复盘<b>未发送</b>给市场部：数据未通过质量门禁。</p><ul>{items}</ul>"
        f"<p>应到源数据日 {result.expected_source_days}，不可用 {result.unusable_source_days}，"
        f"阈值 {result.threshold:.1%}；未修复的关键 GX 失败 {result.critical_failures} 项。</p>"
        "<p>修复数据并重建数据集市后，mp_report 会在 published_marts 更新时自动重新评估；"
        f"也可手动触发 mp_report（quarter={result.quarter}）。</p>"
    )
    notify_data_team(f"[Matrix Pulse] {result.quarter} 季度复盘被质量门禁拦截", body)


def check_resend_to(resend_to: Iterable[str] | None) -> list[str]:
    """The DAG param ``resend_to`` checked against config/audiences.yaml: an address no audience
    sends to is refused by name (a typo must not quietly resend to nobody)."""
    from airflow.sdk.exceptions import AirflowFailException  # a bad param is not transient: no retry

    from matrix_pulse.report.audiences import load_config

    wanted = sorted({r.strip() for r in (resend_to or []) if r.strip()})
    known = {r for a in load_config().audiences for r in a.recipients}
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise AirflowFailException(
            f"resend_to: {', '.join(unknown)} is no recipient of any audience in config/audiences.yaml"
        )
    return wanted


def build_job(
    job: Mapping[str, str], run_id: str, resend: bool, resend_to: Iterable[str] | None = None
) -> dict[str, Any]:
    """Build (or skip) one audience's pack; returns what the send task needs.

    ``resend_to`` (recipients): a targeted re-issue, a new issue number sent to those of this
    audience's recipients only (the one whose copy was lost), recorded in the send ledger as
    'resend to ...'; an audience with none of them is left alone."""
    from matrix_pulse.report.audiences import load_config
    from matrix_pulse.report.ledger import SendLedger
    from matrix_pulse.report.pack import build_pack
    from matrix_pulse.report.render import render_pack, workers

    cfg = load_config()
    audience = cfg.audience(job["audience"])
    quarter = Quarter.parse(job["quarter"])
    ledger = SendLedger()
    current = ledger.current_issue(quarter.label, audience.id)
    targeted = [r for r in audience.recipients if r in set(resend_to or [])]
    if resend_to and not targeted:
        return {**job, "status": "not_targeted", "issue": current, "recipients": []}
    resend = resend or bool(targeted)
    if (
        not resend
        and current is not None
        and ledger.all_sent(quarter.label, audience.id, audience.recipients, current)
    ):
        # Exactly once: nothing to send, and rebuilding would make the archive disagree with what was sent.
        return {**job, "status": "already_sent", "issue": current, "recipients": list(audience.recipients)}
    issue = ledger.issue_for_run(quarter.label, audience.id, run_id, resend, targeted or None)
    with workers():  # the XLSX worker and the browser start while the queries run
        with _connect() as con:
            pack = build_pack(con, quarter, audience, cfg.gate, cfg.pack)
        files = render_pack(pack, issue)
    return {**job, "status": "built", "issue": issue, "recipients": targeted or list(audience.recipients),
            "files": files.as_dict()}  # fmt: skip


def send_job(built: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    from matrix_pulse.report.mailer import notify_data_team, send_pack
    from matrix_pulse.report.render import PackFiles

    if built.get("status") != "built":
        return {**built, "sent": [], "already_sent": list(built.get("recipients", []))}
    report = send_pack(PackFiles.from_dict(built["files"]), built["recipients"], run_id=run_id)
    if report.unconfirmed:
        from matrix_pulse.report.ledger import message_id

        ids = "".join(
            f"<li>{html.escape(r)}：{html.escape(message_id(report.quarter, report.audience, r, report.issue))}</li>"
            for r in report.unconfirmed
        )
        notify_data_team(
            f"[Matrix Pulse] {report.quarter}/{report.audience} 有 {len(report.unconfirmed)} 封邮件投递状态未知",
            "<p>上一次发送在服务器应答后中断，为避免重复发送，本次<b>没有重发</b>（至多一次）。"
            "请按 Message-ID 在邮件服务器日志中核实；确实未送达时以 resend=true 重新发布。</p>"
            f"<ul>{ids}</ul>",
        )
    return {**built, **report.as_dict()}


def notify_send_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback of the send task (after the last retry): tell the data team."""
    from matrix_pulse.report.mailer import notify_data_team

    ti = context.get("task_instance") or context.get("ti")
    err = html.escape(str(context.get("exception", ""))[:2000])
    try:
        notify_data_team(
            f"[Matrix Pulse] 季度复盘发送失败：{getattr(ti, 'task_id', '?')}",
            f"<p>季度复盘邮件在多次重试后仍发送失败。</p><pre>{err}</pre>"
            "<p>发送台账记录了每位收件人的状态；修复 SMTP 后重跑该任务即可，只会补发未发送的收件人。</p>",
        )
    except Exception:  # noqa: BLE001 - the SMTP server may be the thing that is down
        log.exception("could not e-mail the data team about the failed send")


def summarize(results: Iterable[Mapping[str, Any]], gate: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the run built and sent, per pack, after every send has ended (the summary task runs
    whatever its upstream did). ``gate`` is the quality gate's result, None when planning or the
    gate failed: then nothing was built or sent, and the run must fail. It fails at once, not
    after the default retries (a re-try cannot bring back a plan that failed): before this, a
    ``resend_to`` typo failed ``plan`` and then ``summary`` on a TypeError three times, ~3 min of
    back-off."""
    if gate is None:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(
            "nothing was planned: plan or quality_gate failed in this run, so no pack was built or sent "
            "(that task's log and failure alert say why)"
        )
    gates = gate["gates"]
    rows = list(results)
    summary = {
        "gates": {q: g["passed"] for q, g in gates.items()},
        "packs": [
            {"quarter": r["quarter"], "audience": r["audience"], "issue": r.get("issue"), "status": r.get("status"),
             "sent": len(r.get("sent", [])), "already_sent": len(r.get("already_sent", [])),
             "unconfirmed": len(r.get("unconfirmed", []))}
            for r in rows
        ],
    }  # fmt: skip
    for p in summary["packs"]:
        log.info("pack %(quarter)s/%(audience)s issue %(issue)s: %(status)s, sent %(sent)s, "
                 "already sent %(already_sent)s, unconfirmed %(unconfirmed)s", p)  # fmt: skip
    return summary
