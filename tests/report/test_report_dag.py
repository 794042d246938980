"""mp_report runs end to end with dag.test(): gate, mapped builds, mapped sends, summary."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from tests.report.conftest import make_home, smtp_conn_json

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_mp_report_dag_end_to_end(tmp_path: Path, fixture_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from matrix_pulse.ops.smtp_sink import SmtpSink
    from matrix_pulse.report.ledger import SendLedger

    home = make_home(tmp_path, fixture_db)
    monkeypatch.setenv("MP_HOME", str(home))
    monkeypatch.setenv("MP_AUDIENCES_FILE", str(home / "audiences.yaml"))
    monkeypatch.setenv("MP_ALERT_EMAILS", "data-team@example.com")
    with SmtpSink(tmp_path / "mailbox") as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn_json(sink.port))
        dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "mp_report.py")).dags["mp_report"]
        run = dag.test(run_conf={"quarter": "2026Q3"})
        assert str(run.state) in ("success", "DagRunState.SUCCESS"), run.state
        again = dag.test(run_conf={"quarter": "2026Q3"})  # a re-run: nothing is sent twice
        assert str(again.state) in ("success", "DagRunState.SUCCESS")
        mails = sink_mails(sink)
    rcpts = sorted(m["X-Sink-Rcpt-To"] for m in mails)
    assert rcpts == ["cmo@example.com", "huadong-marketing@example.com", "marketing-hq@example.com"]
    assert {r.status for r in SendLedger().rows("2026Q3")} == {"sent"}
    assert (
        home / "outputs" / "packs" / "2026Q3" / "huadong" / "MatrixPulse_2026Q3_huadong_issue1.pdf"
    ).exists()

    # Issue 14: a lost copy is re-sent to its recipient only, through the DAG param resend_to:
    # a new issue for that recipient's audience, nobody else gets a second pack, the ledger says so.
    with SmtpSink(tmp_path / "mailbox2") as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn_json(sink.port))
        typo = dag.test(run_conf={"quarter": "2026Q3", "resend_to": ["cmo@exampel.com"]})
        assert "failed" in str(typo.state).lower(), typo.state  # an unknown address fails the run
        # ... at once: plan fails on its first try, and summary (it runs whatever its upstream
        # did) fails on its first try too, saying why, instead of retrying a TypeError for minutes
        tries = {ti.task_id: (str(ti.state), ti.try_number) for ti in typo.get_task_instances()}
        assert tries["plan"] == ("failed", 1) and tries["summary"] == ("failed", 1), tries
        assert not packs(sink)  # (the data team's failure alert may be there)
        alerts = [m for m in sink_mails(sink) if "mp_report.summary" in m["Subject"]]
        assert len(alerts) == 1 and "nothing was planned" in alerts[0].get_body().get_content(), alerts
        target = dag.test(run_conf={"quarter": "2026Q3", "resend_to": ["cmo@example.com"]})
        assert str(target.state) in ("success", "DagRunState.SUCCESS"), target.state
        resent = packs(sink)
    assert [(m["X-Sink-Rcpt-To"], m["X-Matrix-Pulse-Pack"]) for m in resent] == [
        ("cmo@example.com", "2026Q3/hq/issue2")
    ]
    ledger = SendLedger()
    assert ledger.issue_recipients("2026Q3", "hq", 2) == ["cmo@example.com"]
    sends = {(r.audience, r.recipient, r.issue): r.status for r in ledger.rows("2026Q3")}
    assert sends == {
        ("hq", "cmo@example.com", 1): "sent",
        ("hq", "marketing-hq@example.com", 1): "sent",
        ("huadong", "huadong-marketing@example.com", 1): "sent",
        ("hq", "cmo@example.com", 2): "sent",
    }
    assert ledger.current_issue("2026Q3", "huadong") == 1  # an audience not targeted is left alone


def sink_mails(sink) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sink.messages]


def packs(sink) -> list:
    return [m for m in sink_mails(sink) if m["X-Matrix-Pulse-Pack"]]
