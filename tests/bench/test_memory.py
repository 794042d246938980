"""The bench's process-tree walk (bench/memory.py) finds what psutil finds, children of threads too."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
from matrix_pulse.bench.memory import _tree, tree_rss

# A process whose main thread starts one child (which starts a grandchild) and whose second thread
# starts another: the kernel lists a child under the thread that forked it.
SPAWNER = """
import subprocess, threading, time
subprocess.Popen(["bash", "-c", "sleep 60 & wait"])
threading.Thread(target=lambda: subprocess.Popen(["sleep", "60"]).wait(), daemon=True).start()
time.sleep(60)
"""


def test_tree_finds_children_of_every_thread_and_grandchildren() -> None:
    spawner = subprocess.Popen([sys.executable, "-c", SPAWNER])
    try:
        root = psutil.Process(spawner.pid)
        deadline = time.monotonic() + 30
        while len(root.children(recursive=True)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        expected = {root.pid, *(p.pid for p in root.children(recursive=True))}
        assert len(expected) == 4, expected  # the spawner, bash, its sleep, the thread's sleep
        assert {p.pid for p in _tree(root)} == expected
        assert tree_rss(root) >= sum(p.memory_info().rss for p in root.children(recursive=True))
    finally:
        for p in psutil.Process(spawner.pid).children(recursive=True):
            p.kill()
        spawner.kill()
        spawner.wait()
