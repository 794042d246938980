"""A second process that writes the pack's XLSX while this one draws the charts and Chromium prints.

Writing the XLSX is pure Python (xlsxwriter, ~13 µs a cell; the national hq pack has 330,000
cells) and the GIL keeps a thread from overlapping it with the charts, so it runs in a process of
its own: one worker per report process, reused for every pack it renders (issue 17). The worker is
forked by ``start()``, which ``render.workers()`` runs first (the report DAG's build task, the
bench), before that block opens DuckDB or launches the browser, so their threads hold no lock the
child could inherit (in `dags test`, which runs every task in one process, an earlier task's
browser thread may exist, idle on its queue; the child touches neither); the worker is shut down
when that block ends, or leaves when its parent has gone.
Forked, it starts at no cost (the parent's imports are already in memory) and never re-runs the
parent's ``__main__`` (a spawned worker would re-import the ``airflow`` script, and Airflow with it).

Without a worker (``start()`` not called, a process forked from the one that called it, a daemonic
process such as an Airflow task on a Celery worker, where multiprocessing allows no children) or
when the worker has died, the job writes in the calling process: the same file, only not overlapped.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from matrix_pulse.report.pack import QuarterPack

    Writer = Callable[[QuarterPack, Path], Path]

_pool: ProcessPoolExecutor | None = None
_owner_pid: int | None = None


def _exit_with_parent(parent: int) -> None:
    """The worker's initializer: leave when the parent has gone. An Airflow task ends with
    os._exit(), which runs no atexit hook (nor the pool's shutdown), and a worker left behind
    would keep the task's log socket open, which its supervisor reads until EOF."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="mp-xlsx-parent-watch", daemon=True).start()


def _ready() -> int:
    """The worker's first job: proves it runs (and returns its pid for the tests)."""
    return os.getpid()


def start() -> int | None:
    """Fork the XLSX worker now (idempotent); returns its pid, or None where this process may not
    have one: no fork on the platform, or a daemonic process (an Airflow task on a Celery worker:
    multiprocessing refuses it children), which then writes its XLSX itself."""
    global _pool, _owner_pid
    if _pool is not None and _owner_pid == os.getpid():
        return _pool.submit(_ready).result()
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        return None
    # The worker needs xlsxwriter (the caller's writer function is imported already): importing it
    # here means the fork carries it in.
    import xlsxwriter  # noqa: F401

    _pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    _owner_pid = os.getpid()
    # The first submit forks the worker (3.11 launches fork workers before its manager thread).
    return _pool.submit(_ready).result()


def stop() -> None:
    """Shut this process's worker down (it is also shut down at exit)."""
    global _pool, _owner_pid
    if _pool is not None and _owner_pid == os.getpid():
        _pool.shutdown(wait=True)
    _pool = _owner_pid = None


class XlsxJob:
    """An XLSX being written; ``result()`` waits for its path."""

    def __init__(self, writer: Writer, pack: QuarterPack, path: Path, future: Future | None) -> None:
        self.writer, self.pack, self.path, self.future = writer, pack, path, future

    def result(self) -> Path:
        if self.future is not None:
            try:
                return self.future.result()
            except BrokenProcessPool:  # the worker died (killed, out of memory): write it here
                stop()
        return self.writer(self.pack, self.path)


def write(writer: Writer, pack: QuarterPack, path: Path) -> XlsxJob:
    """Queue ``writer(pack, path)`` (render.write_xlsx: a module-level function, so the worker
    finds it by name) to the worker, if this process started one; else the job writes the XLSX
    in this process when its result is asked for."""
    if _pool is not None and _owner_pid == os.getpid():
        try:
            return XlsxJob(writer, pack, path, _pool.submit(writer, pack, path))
        except BrokenProcessPool:
            stop()
    return XlsxJob(writer, pack, path, None)
