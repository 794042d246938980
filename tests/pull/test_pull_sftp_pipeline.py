"""SFTP downloads in flight together (several channels on one SSH connection) and the one settle
wait: every file lands exactly once with the remote's bytes, in listing order in the ledger, a
failed or abandoned download leaves no temp file, and a pull with nothing due does not wait."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import Counter

from matrix_pulse.pull import run_pull
from matrix_pulse.pull.landing import stream_to_temp
from matrix_pulse.pull.ledger import PullLedger
from matrix_pulse.pull.sftp import RemoteFile, SftpSession

from .conftest import END, Remote, landed_files, simulated_files

FOLDER = "crm_dcc"


def _many_files(remote: Remote, n: int = 40) -> dict[str, bytes]:
    """n more days in one remote folder, sizes from empty to several read requests (32 KiB each)
    and one past the 1 MiB block the download streams in."""
    remote_dir = remote.sftp_dir(FOLDER)
    made = {}
    for i in range(n):
        day = dt.date(2026, 8, 1) + dt.timedelta(days=i)
        size = 0 if i == 0 else (1_300_000 if i == 1 else 997 * i * i)
        data = hashlib.sha256(str(i).encode()).digest() * (size // 32) + b"x" * (size % 32)
        path = remote_dir / f"{FOLDER}_{day:%Y%m%d}.csv"
        path.write_bytes(data)
        os.utime(path, (1_780_000_000 + i, 1_780_000_000 + i))
        made[path.name] = data
    return made


def test_parallel_downloads_land_every_file_once_with_the_remote_bytes(remote: Remote) -> None:
    want = {**simulated_files(remote.simulated, FOLDER), **_many_files(remote)}
    waits: list[float] = []
    summary = run_pull(remote.settings, remote.config, sources=[FOLDER], through=END, sleep=waits.append)
    assert remote.config.parallel_downloads > 1  # the repo's default: this pull overlapped files

    assert landed_files(remote.settings, FOLDER) == want
    assert not list((remote.settings.landing_dir / "_pull_tmp").glob("*"))
    with PullLedger.open(remote.settings) as ledger:
        rows = ledger.rows(FOLDER)
    assert Counter(r["outcome"] for r in rows) == Counter({"landed": len(want)})
    # one row per file, in the listing's (name) order, each with the landed bytes' size and hash
    assert [os.path.basename(r["remote_name"]) for r in rows] == sorted(want)
    for r in rows:
        data = want[os.path.basename(r["remote_name"])]
        assert (r["bytes"], r["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert r["remote_size"] == len(data)
    # the remote mtime is kept
    name = f"{FOLDER}_20260805.csv"
    assert int((remote.settings.landing_dir / FOLDER / name).stat().st_mtime) == 1_780_000_004
    assert summary.requests["sftp"] == len(want)
    # One settle wait, at most settle_seconds (no HTTP source ran, so nothing shortened it).
    assert len(waits) == 1 and 0 < waits[0] <= remote.config.settle_seconds

    # Nothing due: no wait, no download, nothing recorded.
    waits.clear()
    again = run_pull(remote.settings, remote.config, sources=[FOLDER], through=END, sleep=waits.append)
    assert again.attempts == [] and waits == []


def test_one_settle_wait_for_every_connection(remote: Remote) -> None:
    """crm_* are on the dealers' SFTP, douyin_posts on the brand's: two connections, one wait."""
    waits: list[float] = []
    sources = ["crm_dcc", "crm_legacy", "douyin_posts"]
    first = run_pull(remote.settings, remote.config, sources=sources, through=END, sleep=waits.append)
    assert {a.outcome for a in first.attempts} == {"landed"}
    assert len({a.conn_id for a in first.attempts}) == 2
    assert len(waits) == 1
    # A re-delivery on one connection: a wait again (its file must settle), then it lands.
    path = remote.sftp_dir("douyin_posts") / sorted(landed_files(remote.settings, "douyin_posts"))[0]
    os.utime(path, (path.stat().st_mtime + 60, path.stat().st_mtime + 60))
    waits.clear()
    second = run_pull(remote.settings, remote.config, sources=sources, through=END, sleep=waits.append)
    assert [(a.source, a.outcome) for a in second.attempts] == [("douyin_posts", "unchanged")]
    assert len(waits) == 1


def test_a_failed_or_abandoned_download_leaves_no_temp_file(remote: Remote) -> None:
    made = _many_files(remote, 12)
    remote_dir = remote.config.sources[FOLDER].remote_dir
    files = [
        RemoteFile(n, f"{remote_dir}/{n}", dt.date(2026, 8, 1), len(b), 0) for n, b in sorted(made.items())
    ]
    files.insert(3, RemoteFile("gone.csv", f"{remote_dir}/gone.csv", dt.date(2026, 8, 1), 5, 0))
    tmp_dir = remote.settings.landing_dir / "_pull_tmp"

    def to_temp(f, write):
        return stream_to_temp(remote.settings, f.name, write)

    def discard(got) -> None:
        got[0].unlink(missing_ok=True)

    with SftpSession("mp_dealer_sftp") as session:
        got = list(session.downloads(files, to_temp, 4, discard))
        # in the order given; the missing remote file is that file's error, the others arrive
        assert [f.name for f, _ in got] == [f.name for f in files]
        errors = [f.name for f, res in got if isinstance(res, Exception)]
        assert errors == ["gone.csv"]
        for f, res in got:
            if f.name != "gone.csv":
                tmp, sha, size = res
                assert tmp.read_bytes() == made[f.name] and size == len(made[f.name])
                assert sha == hashlib.sha256(made[f.name]).hexdigest()
                tmp.unlink()
        assert not list(tmp_dir.glob("*"))

        # The caller stops after two files (a crash in landing, say): the downloads already
        # done or in flight are dropped, no .part is left behind.
        downloads = session.downloads(files, to_temp, 4, discard)
        taken = [next(downloads) for _ in range(2)]
        downloads.close()
        for _, (tmp, _, _) in taken:
            tmp.unlink()
        assert not list(tmp_dir.glob("*"))
    assert not landed_files(remote.settings, FOLDER)
