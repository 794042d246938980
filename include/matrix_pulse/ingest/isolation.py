"""Every xlsx and JSON file is read in a worker process with limits, one file at a time.

Why a process: a 5 KB xlsx whose only cell sits at XFD1048576 makes the xlsx reader
allocate ~549 GB and abort the whole process, a 1 GB shared string exhausts memory, and a
JSON document nested 10,000 levels raises RecursionError; none of that may stop the day.
The worker runs under an address-space limit (``RLIMIT_AS``, ``MP_READER_MEMORY_MB``) and
a wall-time limit (``MP_READER_TIMEOUT_S``); when it dies or overruns, that one file is
set aside with a reason naming the file and the limit, a fresh worker is started and the
run goes on. Cheap checks run before the expensive parse and say exactly which limit a
file broke: the xlsx's declared sheet size (cells) and the uncompressed size of each part
of its zip, the JSON nesting depth (the parser itself stops at the limit), and after
reading, the cell count and the longest cell (``MP_READER_MAX_CELLS``,
``MP_READER_MAX_CELL_CHARS``, ``MP_READER_MAX_PART_MB``, ``MP_READER_MAX_NESTING``).

Cost (issue 17): ONE worker per process (started on the first xlsx/JSON file, ~0.4 s CPU;
kept for the next run, replaced only when a file killed it or the limits changed), not one
per file; a file's staged columns come back pickled over a pipe. The worker holds at most one
file: ``submit`` hands it the next file and returns at once, ``result`` waits for it, so the
loader stages one file while the worker parses the next (a national quarter's loader waited
81 s of its 227 s on the worker before). CSVs are read by DuckDB in the loader's process,
where DuckDB's own memory limit and its 2 MB line-size cap bound them.
"""

from __future__ import annotations

import atexit
import os
import re
import resource
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from matrix_pulse.ingest.landing_guard import excerpt
from matrix_pulse.ingest.readers import FileRejected, StagedTable
from matrix_pulse.settings import InputLimits, get_settings
from matrix_pulse.sources import Source

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


# --- checks (run inside the worker) -----------------------------------------------------


def check_xlsx_container(path: Path, name: str, limits: InputLimits) -> None:
    """Refuse an xlsx by its zip directory and declared sheet size, before any cell is parsed."""
    try:
        with zipfile.ZipFile(path) as zf:
            parts = zf.infolist()
            for part in parts:
                if part.file_size > limits.reader_max_part_mb * 1024 * 1024:
                    raise FileRejected(
                        f"{name}: xlsx part {excerpt(part.filename)} unpacks to {part.file_size:,} bytes, "
                        f"above the limit of {limits.reader_max_part_mb} MB (MP_READER_MAX_PART_MB)"
                    )
            for part in parts:
                if not re.fullmatch(r"xl/worksheets/sheet\d+\.xml", part.filename):
                    continue
                with zf.open(part) as fh:
                    head = fh.read(4096)  # <dimension> sits at the top of a sheet part
                m = _DIMENSION.search(head)
                if not m or not m.group(4):
                    continue
                cells = _col_number(m.group(3)) * int(m.group(4))
                if cells > limits.reader_max_cells:
                    ref = m.group(0).decode("ascii", "replace").split('"')[1]
                    raise FileRejected(
                        f"{name}: sheet {excerpt(part.filename)} declares range {ref} = {cells:,} cells, "
                        f"above the limit of {limits.reader_max_cells:,} cells (MP_READER_MAX_CELLS)"
                    )
    except zipfile.BadZipFile:
        return  # the xlsx reader names the damage itself


def check_cells(staged: StagedTable, name: str, limits: InputLimits) -> None:
    """Refuse a staged table holding too many cells or a cell longer than the limit."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = staged.data
    if isinstance(data, pa.Table):
        cells = data.num_rows * max(data.num_columns - 1, 0)
        # A cell has at least as many bytes as characters: only a column holding a cell of
        # more bytes than the limit has its characters counted (bytes come from the offsets,
        # counting characters decodes every cell: 20x dearer, issue 17).
        longest = max(
            (
                pc.max(pc.utf8_length(c)).as_py() or 0
                for c in data.columns[1:]
                if (pc.max(pc.binary_length(c)).as_py() or 0) > limits.reader_max_cell_chars
            ),
            default=0,
        )
    else:
        arrays = [a for k, a in (data or {}).items() if k.startswith("c")]
        cells = (staged.rows_read or 0) * len(staged.headers)
        longest = 0
        for a in arrays:
            # c<i> arrays hold str or None only (readers._split_column): len() over the
            # non-empty ones, in C (a list comprehension per cell cost seconds per national day).
            longest = max(longest, max(map(len, filter(None, a)), default=0))
    if cells > limits.reader_max_cells:
        raise FileRejected(
            f"{name}: {cells:,} cells, above the limit of {limits.reader_max_cells:,} cells (MP_READER_MAX_CELLS)"
        )
    if longest > limits.reader_max_cell_chars:
        raise FileRejected(
            f"{name}: a cell holds {longest:,} characters, above the limit of "
            f"{limits.reader_max_cell_chars:,} (MP_READER_MAX_CELL_CHARS)"
        )


def _parse_json_bounded(path: Path, name: str, limits: InputLimits) -> object:
    """json.loads with the interpreter's recursion limit set just above the nesting limit:
    the C parser counts one level per nested array/object, so it stops there, cheaply."""
    import inspect

    from matrix_pulse.ingest.readers import load_json_document

    data = path.read_bytes()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + limits.reader_max_nesting + 2)
    try:
        return load_json_document(Path(name), data)  # messages name the landed file, not the archive copy
    except RecursionError:
        raise FileRejected(
            f"{name}: JSON nested deeper than {limits.reader_max_nesting} levels (MP_READER_MAX_NESTING)"
        ) from None
    finally:
        sys.setrecursionlimit(old)


def read_file(
    fmt: str, path: Path, name: str, sources: list[Source], limits: InputLimits
) -> list[StagedTable]:
    """Stage one xlsx/JSON file under the limits (what the worker runs; also callable in-process)."""
    from matrix_pulse.ingest.readers import read_json_records, read_xlsx

    if fmt == "xlsx":
        check_xlsx_container(path, name, limits)
        staged = [read_xlsx(None, Path(name), sources[0], "_stg", read_from=path)]
    else:
        document = _parse_json_bounded(path, name, limits)
        staged = [read_json_records(None, Path(name), document, s, "_stg") for s in sources]
    for st in staged:
        check_cells(st, name, limits)
    return staged


# --- the worker ---------------------------------------------------------------------------


def _worker_main(requests: Connection, replies: Connection, memory_bytes: int) -> None:
    """The worker's loop (runs in the child): one request (a file) at a time, one reply each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the worker stops
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            request = requests.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            replies.send(("ok", read_file(*request)))
        except FileRejected as exc:
            replies.send(("rejected", str(exc)))
        except MemoryError:
            replies.send(("rejected", "memory"))
        except Exception as exc:  # noqa: BLE001 - any reader failure sets the one file aside
            why = f"{type(exc).__name__}: {excerpt(str(exc))}"
            replies.send(("rejected", f"{request[2]}: could not be read ({why})"))


_SHARED: FileReaderPool | None = None


@dataclass
class _Worker:
    process: subprocess.Popen
    requests: Connection
    replies: Connection


class FileReaderPool:
    """One reader worker for an ingest run: ``submit`` hands it a file, ``result`` returns what it
    staged or raises FileRejected."""

    def __init__(self, limits: InputLimits | None = None) -> None:
        self.limits = limits or get_settings().input_limits()
        self._worker: _Worker | None = None
        self.started = 0  # workers started (one per run unless a file killed one)
        self._pending: tuple[str, float] | None = None  # (landed name, monotonic send time) in the worker

    def _start(self) -> _Worker:
        # A fresh interpreter (not multiprocessing's spawn/forkserver, which re-run the
        # caller's __main__ in the child: a script, pytest, an Airflow task runner; and
        # never fork, as this process holds DuckDB's threads). Two one-way pipes carry
        # pickled requests and replies.
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        memory = self.limits.reader_memory_mb * 1024 * 1024
        # -c, not -m: the package imports this module first, and runpy would warn and run it twice.
        entry = f"import sys; from {__name__} import worker_entry; worker_entry(sys.argv[1:])"
        cmd = [sys.executable, "-c", entry, str(to_child_r), str(from_child_w), str(memory)]
        proc = subprocess.Popen(cmd, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.started += 1
        return _Worker(proc, Connection(to_child_w, readable=False), Connection(from_child_r, writable=False))

    def _kill(self) -> None:
        if self._worker is not None:
            if self._worker.process.poll() is None:
                self._worker.process.kill()
            self._worker.process.wait(5)
            self._worker.requests.close()
            self._worker.replies.close()
            self._worker = None

    @property
    def pending(self) -> str | None:
        """The landed name of the file the worker holds (submitted, its result not taken)."""
        return self._pending[0] if self._pending else None

    def submit(self, fmt: str, path: Path, name: str, sources: list[Source]) -> None:
        """Hand the worker one file (``path``, the archived copy of landed file ``name``) and
        return at once; ``result`` takes what it staged."""
        if self._pending is not None:
            raise RuntimeError(f"the reader worker still holds {self._pending[0]}: take its result first")
        if self._worker is None or self._worker.process.poll() is not None:
            self._kill()
            self._worker = self._start()
        self._worker.requests.send((fmt, path, name, sources, self.limits))
        # The worker is idle when a file is sent (one at a time), so the file's time limit
        # runs from here, however long the caller is busy before it asks for the result.
        self._pending = (name, time.monotonic())

    def result(self) -> list[StagedTable]:
        """What the worker staged from the submitted file; raises FileRejected for the file."""
        if self._pending is None or self._worker is None:
            raise RuntimeError("no file was submitted to the reader worker")
        (name, sent), self._pending = self._pending, None
        w, limits = self._worker, self.limits
        if not w.replies.poll(max(limits.reader_timeout_s - (time.monotonic() - sent), 0)):
            self._kill()
            raise FileRejected(
                f"{name}: reading took longer than {limits.reader_timeout_s:g} s (MP_READER_TIMEOUT_S); set aside"
            )
        try:
            status, payload = w.replies.recv()
        except (EOFError, OSError):
            # The worker died mid-file: an allocation past the address-space limit aborts it.
            code = w.process.wait(5)
            self._kill()
            raise FileRejected(
                f"{name}: the reader died (exit code {code}) reading it, at the memory limit of "
                f"{limits.reader_memory_mb} MB (MP_READER_MEMORY_MB); set aside"
            ) from None
        if status == "ok":
            return payload
        if payload == "memory":
            raise FileRejected(
                f"{name}: the reader exceeded the memory limit of {limits.reader_memory_mb} MB "
                "(MP_READER_MEMORY_MB); set aside"
            )
        raise FileRejected(payload)

    def cancel(self) -> None:
        """Forget a submitted file whose result nobody will take (a run that stopped early):
        the worker is stopped, so its late reply can never be taken for another file."""
        if self._pending is not None:
            self._pending = None
            self._kill()

    @classmethod
    def shared(cls, limits: InputLimits | None = None) -> FileReaderPool:
        """This process's reader worker, kept between runs (a test session or a backfill pays
        its start-up once); a new one when the limits changed."""
        global _SHARED
        limits = limits or get_settings().input_limits()
        if _SHARED is None or _SHARED.limits != limits:
            if _SHARED is not None:
                _SHARED.close()
            _SHARED = cls(limits)
            atexit.register(_SHARED.close)
        return _SHARED

    def close(self) -> None:
        self.cancel()
        if self._worker is not None:
            try:
                self._worker.requests.send(None)
                self._worker.process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._kill()


def worker_entry(argv: list[str]) -> None:  # pragma: no cover - runs in the child
    """The worker process's entry point (started by FileReaderPool._start)."""
    requests_fd, replies_fd, memory = (int(a) for a in argv)
    _worker_main(Connection(requests_fd, writable=False), Connection(replies_fd, readable=False), memory)
