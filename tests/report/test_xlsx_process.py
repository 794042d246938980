"""The pack's XLSX written by a second process (report.xlsx_process): the same workbook as the
one written in this process, and still a workbook when that process has died."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report import xlsx_process
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.render import write_xlsx
from python_calamine import CalamineWorkbook

HQ = Audience("hq", "总部市场部", "national", ("cmo@example.com",))


@pytest.fixture(scope="module")
def pack(fixture_db: Path):
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        return build_pack(con, Quarter.parse("2026Q3"), HQ, GateConfig())


@pytest.fixture
def worker():
    pid = xlsx_process.start()
    assert pid is not None and pid != os.getpid()
    yield pid
    xlsx_process.stop()


def _cells(path: Path) -> dict[str, list]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_the_worker_writes_the_workbook_this_process_would(pack, worker: int, tmp_path: Path) -> None:
    first = xlsx_process.write(write_xlsx, pack, tmp_path / "worker.xlsx")
    assert first.future is not None  # queued to the worker, not written here
    assert first.result() == tmp_path / "worker.xlsx"
    assert xlsx_process.start() == worker  # one worker, reused for the next pack
    again = xlsx_process.write(write_xlsx, pack, tmp_path / "again.xlsx").result()
    here = write_xlsx(pack, tmp_path / "here.xlsx")
    cells = _cells(here)
    assert len(cells) > 20 and sum(len(rows) for rows in cells.values()) > 100
    assert _cells(tmp_path / "worker.xlsx") == cells
    assert _cells(again) == cells


def test_a_dead_worker_leaves_the_workbook_to_this_process(pack, worker: int, tmp_path: Path) -> None:
    os.kill(worker, signal.SIGKILL)  # whether the pool has noticed yet or not
    path = xlsx_process.write(write_xlsx, pack, tmp_path / "after_kill.xlsx").result()
    assert _cells(path) == _cells(write_xlsx(pack, tmp_path / "here.xlsx"))
    # the next start forks a new worker
    assert xlsx_process.start() not in (None, worker)


def test_without_start_the_workbook_is_written_here(pack, tmp_path: Path) -> None:
    xlsx_process.stop()
    job = xlsx_process.write(write_xlsx, pack, tmp_path / "inline.xlsx")
    assert job.future is None and not (tmp_path / "inline.xlsx").exists()
    assert job.result().exists()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in "ZX"  # exited; a zombie only waits for its new parent to reap it


def test_the_worker_ends_with_its_block_and_with_its_parent(pack, tmp_path: Path) -> None:
    """render.workers() shuts the worker down at its end; a parent that leaves by os._exit()
    (as an Airflow task does, running no atexit hook) does not leave its worker behind."""
    import subprocess
    import sys

    from matrix_pulse.report.render import workers

    with workers():
        pid = xlsx_process.start()
        assert pid is not None and not _gone(pid)
    assert _gone(pid)
    assert xlsx_process.write(write_xlsx, pack, tmp_path / "after.xlsx").future is None  # written here again

    code = (
        "import os; from matrix_pulse.report import xlsx_process; "
        "print(xlsx_process.start(), flush=True); os._exit(0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    orphan = int(out.stdout.strip())
    deadline = time.monotonic() + 10
    while not _gone(orphan) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(orphan), f"the worker {orphan} outlived its parent"


def test_a_daemonic_process_writes_its_workbook_itself(pack, tmp_path: Path) -> None:
    """An Airflow task on a Celery worker is a daemonic process, to which multiprocessing allows
    no children: no worker there, and the XLSX is written in the task's own process."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()

    def task() -> None:
        pid = xlsx_process.start()
        job = xlsx_process.write(write_xlsx, pack, tmp_path / "daemon.xlsx")
        results.put((pid, job.future is None, job.result() == tmp_path / "daemon.xlsx"))

    child = ctx.Process(target=task, daemon=True)
    child.start()
    assert results.get(timeout=60) == (None, True, True)
    child.join(30)
    assert child.exitcode == 0
    assert _cells(tmp_path / "daemon.xlsx") == _cells(write_xlsx(pack, tmp_path / "here.xlsx"))
