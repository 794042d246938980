"""Pulling through the real stand-ins: clean days, every API fault, SFTP uploads in progress
and re-deliveries. Each fault: nothing lost, nothing landed twice, the ledger says what happened."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections import Counter

import pytest
from matrix_pulse.pull import RepullRange, run_pull
from matrix_pulse.pull.ledger import PullLedger, pull_notes

from .conftest import END, START, THROUGH, Remote, is_valid_json, landed_files, simulated_files

API_FOLDERS = ("wechat_oa", "wechat_channels", "bilibili_videos")


def ledger_rows(remote: Remote, source: str | None = None) -> list[dict]:
    with PullLedger.open(remote.settings) as ledger:
        return ledger.rows(source)


def test_clean_pull_lands_every_file_as_the_contract_says(remote: Remote) -> None:
    summary = run_pull(remote.settings, remote.config, through=THROUGH)

    for folder in remote.config.sources:
        want = simulated_files(remote.simulated, folder)
        got = landed_files(remote.settings, folder)
        if folder in API_FOLDERS:
            # Assembled from the API's pages, byte for byte the export the platform's dump gives;
            # a day the platform answers truncated (the simulator's invalid JSON) never lands.
            want = {n: b for n, b in want.items() if is_valid_json(b)}
        assert got == want, folder
    # No temp name is left in landing, nothing else landed.
    assert not list((remote.settings.landing_dir / "_pull_tmp").glob("*"))
    # Each landed file keeps its delivery time (the simulator's mtime): the SFTP file's mtime, the
    # API's Last-Modified; so a backfill pulled today is not judged late, and a late day stays late.
    for folder in remote.config.sources:
        for name in landed_files(remote.settings, folder):
            landed_at = (remote.settings.landing_dir / folder / name).stat().st_mtime
            assert abs(landed_at - (remote.simulated / folder / name).stat().st_mtime) < 1, (folder, name)

    rows = ledger_rows(remote)
    landed = [r for r in rows if r["outcome"] == "landed"]
    assert len(landed) == sum(len(landed_files(remote.settings, f)) for f in remote.config.sources)
    for r in landed:
        data = (remote.settings.landing_dir / r["landed_as"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"] and len(data) == r["bytes"]
    truncated = [r for r in rows if r["outcome"] == "failed"]
    for r in truncated:
        assert r["source"] in API_FOLDERS and "truncated or invalid JSON" in r["detail"], r
    assert Counter(r["outcome"] for r in rows) == Counter({"landed": len(landed), "failed": len(truncated)})
    # Requests: the ledger and the stand-in's own log agree (tokens are minted once and cached).
    assert summary.requests["http"] == sum(r["requests"] for r in rows if r["transport"] != "sftp")
    assert summary.requests["http"] == len(remote.api.log)
    assert remote.api.tokens_issued == 1
    # Pages: 10 per page, so a day's Bilibili list took ceil(n/10) requests, none short.
    for r in rows:
        if r["source"] == "bilibili_videos" and r["outcome"] == "landed":
            n = len(__import__("json").loads((remote.settings.landing_dir / r["landed_as"]).read_bytes()))
            assert r["requests"] == max(1, -(-n // 10))

    # The landed files are the loader's seam: it loads them as if dropped by hand.
    from matrix_pulse.ingest import run_ingest

    ingest = run_ingest(remote.settings)
    assert len(ingest.files) == len(landed)
    assert not [f for f in ingest.files if f.status not in ("loaded", "rejected")]

    # A second run the same morning pulls nothing new (only the truncated day is retried).
    before = len(remote.api.log)
    again = run_pull(remote.settings, remote.config, through=THROUGH)
    assert {a.outcome for a in again.attempts} <= {"failed"}
    assert len(again.attempts) == len(truncated)
    assert len(remote.api.log) - before == again.requests["http"]


def test_api_faults_are_retried_and_nothing_lands_twice(remote: Remote) -> None:
    api = remote.api
    d1, d2, d3, d4 = (START + dt.timedelta(days=i) for i in range(4))
    # Recovered within the pull: a token that expired, the daily quota hit once, a 429, a timeout.
    # (The simulator made wechat_oa 07-02 and bilibili 07-04 invalid JSON: answered truncated.)
    api.inject("token_expired", "/datacube/getarticlesummary", d3)
    api.inject("quota", "/datacube/getarticlesummary", d1)
    api.inject("http_429", "/channels/datacube/getpostlist", d1)
    api.inject("timeout", "/channels/datacube/getlivelist", d2, delay=2.5)
    # Not recovered in this pull (next run): quota past the back-off, a truncated body, a short
    # page, a day the platform has not published yet.
    api.inject("quota", "/x/matrix/archive/stat", d1, times=3)  # 1 try + 2 retries
    api.inject("truncated", "/x/matrix/archive/stat", d3)
    api.inject("short_page", "/channels/datacube/getpostlist", d3)
    api.unpublished.add(("wechat_oa", d4.isoformat()))
    first = run_pull(remote.settings, remote.config, sources=list(API_FOLDERS), through=THROUGH)
    outcome = {(a.source, a.data_date): a for a in first.attempts}

    assert outcome[("wechat_oa", d3)].outcome == "landed" and api.tokens_issued == 2
    assert outcome[("wechat_oa", d1)].outcome == "landed" and outcome[("wechat_oa", d1)].retries == 1
    assert (
        outcome[("wechat_channels", d1)].outcome == "landed" and outcome[("wechat_channels", d1)].retries == 1
    )
    assert (
        outcome[("wechat_channels", d2)].retries == 1 and outcome[("wechat_channels", d2)].outcome == "landed"
    )
    bili1 = outcome[("bilibili_videos", d1)]
    assert (bili1.outcome, bili1.api_errcode, bili1.retries) == ("throttled", -412, 2), bili1
    bili3 = outcome[("bilibili_videos", d3)]
    assert bili3.outcome == "failed" and "truncated" in bili3.detail
    ch3 = outcome[("wechat_channels", d3)]
    assert ch3.outcome == "failed" and "short page" in ch3.detail
    oa4 = outcome[("wechat_oa", d4)]
    assert oa4.outcome == "empty"
    # Nothing of a failed or empty day reached landing: never a short file.
    for a in (bili1, bili3, ch3, oa4):
        assert not (remote.settings.landing_dir / a.source / f"{a.source}_{a.data_date:%Y%m%d}.json").exists()
    # The raw responses of the failed attempt are kept beside landing (the truncated body too).
    archived = list(
        (remote.settings.landing_dir / "_api_responses" / "bilibili_videos" / f"{d3:%Y%m%d}").glob("*")
    )
    assert archived and any(not is_valid_json(p.read_bytes()) for p in archived)

    # What freshness and the overdue notice read for those days:
    notes = pull_notes(remote.settings, [("bilibili_videos", d1), ("wechat_oa", d4), ("wechat_oa", d1)])
    assert notes[("bilibili_videos", d1)].outcome == "throttled"
    assert (
        "since" in notes[("bilibili_videos", d1)].describe()
        and "-412" in notes[("bilibili_videos", d1)].describe()
    )
    assert notes[("wechat_oa", d4)].outcome == "empty" and ("wechat_oa", d1) in notes

    # The next run retries exactly the days that did not land, and lands them once.
    api.unpublished.clear()
    second = run_pull(remote.settings, remote.config, sources=list(API_FOLDERS), through=THROUGH)
    retried = {(a.source, a.data_date): a.outcome for a in second.attempts}
    invalid = {
        (f, dt.datetime.strptime(n[-13:-5], "%Y%m%d").date())
        for f in API_FOLDERS
        for n, b in simulated_files(remote.simulated, f).items()
        if not is_valid_json(b)
    }
    expected = {(a.source, a.data_date) for a in (bili1, bili3, ch3, oa4)} | {
        k for k, a in outcome.items() if a.outcome == "failed" and k in invalid
    }
    assert set(retried) == expected
    assert all(o == "landed" for k, o in retried.items() if k not in invalid)
    for folder in API_FOLDERS:
        want = {n: b for n, b in simulated_files(remote.simulated, folder).items() if is_valid_json(b)}
        assert landed_files(remote.settings, folder) == want, folder
    rows = ledger_rows(remote)
    per_day = Counter((r["source"], r["data_date"]) for r in rows if r["outcome"] == "landed")
    assert max(per_day.values()) == 1  # nothing landed twice

    # A re-pull of a range fetches again; same bytes land nothing.
    third = run_pull(
        remote.settings,
        remote.config,
        sources=["bilibili_videos"],
        through=THROUGH,
        repull=RepullRange(d1, d2, frozenset({"bilibili_videos"})),
    )
    assert {(a.data_date, a.outcome) for a in third.attempts} >= {(d1, "unchanged"), (d2, "unchanged")}


def test_wrong_credentials_are_auth_failures_that_name_no_secret(remote: Remote, monkeypatch) -> None:
    import json

    bad = {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": remote.api.port,
        "login": remote.secrets["appid"],
    }
    monkeypatch.setenv("AIRFLOW_CONN_MP_WECHAT_OA", json.dumps({**bad, "password": "wrong-" + "x" * 20}))
    summary = run_pull(remote.settings, remote.config, sources=["wechat_oa"], through=START)
    (a,) = summary.attempts
    assert (a.outcome, a.api_errcode) == ("auth_failed", 40125)
    assert "wrong-" not in (a.detail or "")
    assert not landed_files(remote.settings, "wechat_oa")


def test_sftp_waits_for_uploads_and_pulls_redeliveries_again(remote: Remote) -> None:
    folder = "crm_dcc"
    remote_dir = remote.sftp_dir(folder)
    # A dealer upload still running: appended to during the pull's two looks.
    growing = remote_dir / "crm_dcc_20260705.csv"
    growing.write_bytes(b"ClueId,DealerId\n")
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            with growing.open("ab") as f:
                f.write(b"x" * 100)
            os.utime(growing, (time.time(), time.time() + 5))  # mtime moves every look
            time.sleep(0.05)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    (remote_dir / "README.txt").write_text("not an export")
    (remote_dir / "crm_dcc_20260706.csv.tmp").write_text("partial")
    try:
        first = run_pull(remote.settings, remote.config, sources=[folder, "crm_legacy"], through=END)
    finally:
        stop.set()
        writer.join()
    by_name = {os.path.basename(a.remote_name or ""): a for a in first.attempts if a.source == folder}
    assert by_name["crm_dcc_20260705.csv"].outcome == "not_ready"
    assert not (remote.settings.landing_dir / folder / "crm_dcc_20260705.csv").exists()
    assert "README.txt" not in by_name and "crm_dcc_20260706.csv.tmp" not in by_name
    assert landed_files(remote.settings, folder) == simulated_files(remote.simulated, folder)
    assert landed_files(remote.settings, "crm_legacy") == simulated_files(remote.simulated, "crm_legacy")
    # Landed files keep the remote's mtime (lateness is the deliverer's, not our schedule's).
    landed = remote.settings.landing_dir / folder / "crm_dcc_20260701.csv"
    assert int(landed.stat().st_mtime) == int((remote_dir / "crm_dcc_20260701.csv").stat().st_mtime)

    from matrix_pulse.ingest import run_ingest

    run_ingest(remote.settings, sources=[folder])
    # The upload finished; a corrected file replaced 07-02 on the remote; 07-03 was only touched.
    redelivered = remote_dir / "crm_dcc_20260702.csv"
    redelivered.write_bytes(redelivered.read_bytes() + redelivered.read_bytes().splitlines(keepends=True)[1])
    os.utime(redelivered, (time.time() + 60, time.time() + 60))
    touched = remote_dir / "crm_dcc_20260703.csv"
    os.utime(touched, (time.time() + 60, time.time() + 60))
    second = run_pull(remote.settings, remote.config, sources=[folder], through=END)
    got = {os.path.basename(a.remote_name or ""): a.outcome for a in second.attempts}
    assert got == {
        "crm_dcc_20260705.csv": "landed",
        "crm_dcc_20260702.csv": "redelivered",
        "crm_dcc_20260703.csv": "unchanged",
    }
    assert (
        remote.settings.landing_dir / folder / "crm_dcc_20260702.csv"
    ).read_bytes() == redelivered.read_bytes()
    # The loader sees the re-delivery as new bytes for the same source-day and replaces the day.
    from .conftest import load_ledger_statuses

    run_ingest(remote.settings, sources=[folder])
    statuses = load_ledger_statuses(remote.settings, "crm_dcc_20260702.csv")
    assert sorted(statuses) == ["loaded", "replaced"], statuses
    # A third run finds nothing to do.
    assert run_pull(remote.settings, remote.config, sources=[folder], through=END).attempts == []


def test_sftp_refused_login_is_recorded_without_the_password(remote: Remote, monkeypatch) -> None:
    import json

    conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": remote.sftp.port, "login": "mp_pull",
            "password": "not-the-password-" + "y" * 12,
            "extra": {"host_key": remote.sftp.host_key_line, "look_for_keys": "false"}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_MP_DEALER_SFTP", json.dumps(conn))
    summary = run_pull(remote.settings, remote.config, sources=["crm_dcc", "crm_legacy"], through=END)
    assert {(a.source, a.data_date, a.outcome) for a in summary.attempts} == {
        ("crm_dcc", END, "auth_failed"),
        ("crm_legacy", END, "auth_failed"),
    }
    for a in summary.attempts:
        assert "AuthenticationException" in (a.sftp_error or "") and "not-the-password" not in a.sftp_error
    assert not landed_files(remote.settings, "crm_dcc")
    note = pull_notes(remote.settings, [("crm_dcc", END)])[("crm_dcc", END)].describe()
    assert note.startswith("pull auth_failed (1 attempt") and "AuthenticationException" in note


def test_dag_params_repull_a_range_of_one_source(remote: Remote) -> None:
    from matrix_pulse.pull import pull_for_run

    run_pull(remote.settings, remote.config, sources=["bilibili_videos"], through=END)
    d1, d2 = START, START + dt.timedelta(days=1)
    params = {"repull_from": str(d1), "repull_to": str(d2), "repull_sources": ["bilibili_videos"]}
    out = pull_for_run(remote.settings, params, END, "manual__test")
    bili = [r for r in ledger_rows(remote, "bilibili_videos") if r["run_id"] == "manual__test"]
    # the range again, same bytes: nothing lands; the day the API answered truncated is retried too
    assert {(r["data_date"], r["outcome"]) for r in bili} >= {(str(d1), "unchanged"), (str(d2), "unchanged")}
    assert out["outcomes"]["unchanged"] == 2
    with pytest.raises(ValueError, match="before repull_from"):
        pull_for_run(remote.settings, {"repull_from": str(d2), "repull_to": str(d1)}, END, None)
