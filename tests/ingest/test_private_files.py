"""Issue 14: what the pipeline writes is owner-only, and the PII key file is never seen half-made."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from matrix_pulse.ingest import run_ingest
from matrix_pulse.settings import Settings

from .fixtures import write_good


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_warehouse_and_send_ledger_are_owner_only_whatever_the_umask(settings: Settings) -> None:
    from matrix_pulse.report.ledger import SendLedger

    old = os.umask(0o022)  # a caller with the common permissive umask
    try:
        write_good(settings.landing_dir, "douyin_posts", dt.date(2026, 7, 1))
        run_ingest(settings)
        ledger = SendLedger(settings.state_dir / "send_ledger.sqlite")
        ledger.issue_for_run("2026Q3", "hq", "run1", resend=False)
    finally:
        os.umask(old)
    assert mode(settings.warehouse_path) == 0o600
    assert mode(settings.warehouse_path.parent) == 0o700
    assert mode(ledger.path) == 0o600 and mode(ledger.path.parent) == 0o700
    assert all(mode(p) & 0o077 == 0 for p in ledger.path.parent.iterdir())


def test_env_sh_sets_owner_only_umask_and_airflow_log_permissions() -> None:
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        ["bash", "-c", "source scripts/env.sh && umask && env | grep FILE_TASK_HANDLER_NEW | sort"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert out[0] == "0077"
    assert "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS=0o600" in out
    assert "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS=0o700" in out


FIRST_USE = """
import sys, time
from pathlib import Path
from matrix_pulse.ingest.pii import _key_from_file
start = float(sys.argv[2])
while time.time() < start:
    pass
print(_key_from_file(Path(sys.argv[1])))
"""


def test_twenty_concurrent_first_uses_read_the_same_full_key(tmp_path: Path) -> None:
    """Twenty real processes asking at once. Whether two of them meet inside the creation is up to
    the scheduler (against a key written after its file was created, 1 of 9 rounds caught it, each
    round ~8 s of CPU): the test below makes that meeting certain, so one round runs here."""
    import time

    key_file = tmp_path / "secrets" / "pii_hmac.key"
    start = time.time() + 3  # all 20 are running (imports done) before any touches the file
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, str(key_file), str(start)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(20)
    ]
    keys = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
    assert key_file.read_text() == keys[0] and mode(key_file) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["pii_hmac.key"]  # no temp file left


def test_a_first_use_at_the_moment_another_creates_the_key_reads_the_same_full_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of the test above, made certain instead of left to the scheduler: the moment the
    first caller creates ANY file in the key's folder, a second caller asks for the key. It must
    get the full key that the first one ends up with, never an empty or partial one (a key file
    created first and written after would hand it "")."""
    import builtins
    import io

    from matrix_pulse.ingest import pii

    key_file = tmp_path / "secrets" / "pii_hmac.key"
    second: list[str] = []
    real = {"os": os.open, "io": io.open, "builtins": builtins.open}

    def then_a_second_caller(file: object) -> None:
        if not second and isinstance(file, (str, os.PathLike)) and Path(file).parent == key_file.parent:
            second.append("")  # one second caller, whose own creation runs unhindered
            second[0] = pii._key_from_file(key_file)

    def os_open(file, flags, *args, **kwargs):
        fd = real["os"](file, flags, *args, **kwargs)
        if flags & os.O_CREAT:
            then_a_second_caller(file)
        return fd

    def io_open(file, mode="r", *args, **kwargs):
        fh = real["io"](file, mode, *args, **kwargs)
        if set(mode) & set("wxa"):
            then_a_second_caller(file)
        return fh

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)
    first = pii._key_from_file(key_file)
    monkeypatch.undo()
    assert second, "the first caller created no file in the key's folder"
    assert len(first) == 64 and second[0] == first
    assert key_file.read_text() == first
    assert [p.name for p in key_file.parent.iterdir()] == ["pii_hmac.key"]
