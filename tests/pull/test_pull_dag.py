"""mp_ingest under dag.test(): pull through the stand-ins, then the unchanged load, GX and
freshness; the overdue notice says what the pull saw; no secret anywhere it could leak."""

from __future__ import annotations

import datetime as dt
import json
import os
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from matrix_pulse.ops.smtp_sink import SmtpSink
from matrix_pulse.pull.ledger import PullLedger

from .conftest import END, START, Remote, landed_files

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mp_ingest_pulls_loads_reports_and_leaks_no_secret(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    api = remote.api
    d3 = START + dt.timedelta(days=2)
    api.inject("quota", "/x/matrix/archive/stat", d3, times=10)  # refused all morning
    api.inject("token_expired", "/datacube/getusersummary")  # a token minted mid-run, masked too

    with SmtpSink(tmp_path / "mailbox") as sink:
        conn = {"conn_type": "smtp", "host": sink.host, "port": sink.port,
                "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "mp@example.com"}}  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
        monkeypatch.setenv("MP_ALERT_EMAILS", "data-team@example.com")
        dag = DagBag(dag_folder=str(REPO / "dags" / "mp_ingest.py")).dags["mp_ingest"]
        logical = dt.datetime.combine(
            END + dt.timedelta(days=1), dt.time(6), dt.timezone(dt.timedelta(hours=8))
        )
        run = dag.test(logical_date=logical)
        states = {ti.task_id: ti.state for ti in run.get_task_instances()}
        assert run.state == DagRunState.SUCCESS, states
        notices = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sink.messages]

    # Pulled, then loaded by the unchanged loader.
    assert landed_files(remote.settings, "crm_dcc")
    import duckdb

    con = duckdb.connect(str(remote.settings.warehouse_path), read_only=True)
    try:
        # every pulled file reached the loader (loaded, or rejected for the simulator's file mess)
        loaded = {r[0] for r in con.execute("SELECT file_name FROM meta.load_ledger").fetchall()}
    finally:
        con.close()
    for folder in remote.config.sources:
        for name in landed_files(remote.settings, folder):
            assert any(n.endswith(name) for n in loaded), name

    with PullLedger.open(remote.settings) as ledger:
        rows = ledger.rows()
    bili = [r for r in rows if r["source"] == "bilibili_videos" and r["data_date"] == d3.isoformat()]
    assert [r["outcome"] for r in bili] == ["throttled"] and bili[0]["api_errcode"] == -412

    # The overdue notice names what the pull saw, not just "missing".
    (notice,) = notices
    html = notice.get_body(("html",)).get_content()
    assert f"bilibili_videos</td><td>{d3}</td><td>missing; pull throttled" in html, html

    # No credential in the task logs (captured), the ledger, landing, archive or responses.
    out, err = capfd.readouterr()
    assert "pull_exports" in out + err and "landed" in out + err  # the task logs were captured
    values = {
        "app secret": remote.secrets["secret"],
        "bilibili token": remote.secrets["bilibili"],
        "sftp password": remote.secrets["sftp"],
        **{f"access token {i}": t for i, t in enumerate(api.tokens)},
    }
    assert len(api.tokens) >= 2
    texts = {"task logs": (out + err).encode()}
    texts["ledger"] = remote.settings.pull_ledger_path.read_bytes()
    for path in remote.settings.home.rglob("*"):
        # home/secrets/ is where the token cache lives by design (mode 0600, git-ignored)
        if path.is_file() and "secrets" not in path.relative_to(remote.settings.home).parts[:1]:
            texts[str(path)] = path.read_bytes()
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    for path in logs.rglob("*.log") if logs.exists() else []:
        if path.stat().st_mtime >= logical.timestamp() and "mp_ingest" in str(path):
            texts[str(path)] = path.read_bytes()
    leaks = [
        (where, what) for where, data in texts.items() for what, v in values.items() if v.encode() in data
    ]
    assert leaks == []
    token_files = list((remote.settings.home / "secrets" / "pull_tokens").iterdir())
    assert token_files and all(p.stat().st_mode & 0o077 == 0 for p in token_files)
