"""Peak memory of a bench step (the RSS of process trees, sampled every 0.1 s while it runs) and the
CPU time of a process tree."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path


def _tree(proc) -> list:
    """``proc`` (a psutil.Process) and its descendants now.

    Found from the kernel's list of each thread's children (/proc/<pid>/task/<tid>/children), which
    costs what the tree holds. psutil's ``children(recursive=True)`` reads every process of the
    machine to find them (~1.4-2 ms a tree), and the bench samples Airflow's four trees ten times a
    second beside the run it measures: the bench's own process used 4.1-4.6 CPU-s of a national
    day's ~53 s DAG run with psutil's walk, 1.6 with this one (2026-12-07, README Measured).
    """
    import psutil

    first = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if not first.exists():  # not Linux, or a kernel without CONFIG_PROC_CHILDREN
        return [proc, *proc.children(recursive=True)]
    tree, pending = [proc], [proc.pid]
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    for child in (task / "children").read_text().split():
                        with contextlib.suppress(psutil.NoSuchProcess):
                            tree.append(psutil.Process(int(child)))
                            pending.append(int(child))
    return tree


def _tree_sum(proc, per_process: Callable) -> float:
    """``per_process(p)`` summed over ``proc`` (a psutil.Process) and its descendants now; a process
    that ends meanwhile counts 0."""
    import psutil

    try:
        procs = _tree(proc)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += per_process(p)
    return total


def tree_rss(proc) -> int:
    """Bytes resident in ``proc`` (a psutil.Process) and all its descendants now."""
    return _tree_sum(proc, lambda p: p.memory_info().rss)


def _own_and_reaped_cpu(p) -> float:
    t = p.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def tree_cpu_seconds(proc) -> float:
    """CPU seconds (user + system) that ``proc`` and its descendants have used so far: each live
    process's own time plus what it has reaped of its children, so a short-lived child (a DAG file's
    parse, a task) is counted once its parent has waited for it, and never twice."""
    return float(_tree_sum(proc, _own_and_reaped_cpu))


class PeakRss:
    """``with PeakRss(measure) as peak: ...``, then ``peak.bytes``: the largest value ``measure()``
    returned, sampled on a thread from entry to exit."""

    def __init__(self, measure: Callable[[], int], every: float = 0.1) -> None:
        self.measure = measure
        self.every = every
        self.bytes = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.bytes = max(self.bytes, self.measure())
            self._done.wait(self.every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
