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
per file; a file's staged columns come back pickled over a pipe. The worker parses one file
at a time, but the loader queues files ahead (``submit`` returns at once, ``result`` takes the
oldest): a pump thread feeds the worker and holds its replies up to ``READ_AHEAD_BYTES``, so the
worker parses the next chunks' files while the loader normalises and applies this one (a
national quarter's loader waited 62 s of its 228 s on the worker with one file of read-ahead
within a chunk, and 81 s with none). CSVs are read by DuckDB in the loader's process,
where DuckDB's own memory limit and its 2 MB line-size cap bound them.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import resource
import signal
import subprocess
import sys
import threading
import zipfile
from collections import deque
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
            # c<i> arrays hold str or None only (json_records._split_column): len() over the
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


def read_file(
    fmt: str, path: Path, name: str, sources: list[Source], limits: InputLimits
) -> list[StagedTable]:
    """Stage one xlsx/JSON file under the limits (what the worker runs; also callable in-process)."""
    from matrix_pulse.ingest.json_records import parse_json_bounded, read_json_records
    from matrix_pulse.ingest.readers import read_xlsx

    if fmt == "xlsx":
        check_xlsx_container(path, name, limits)
        staged = [read_xlsx(None, Path(name), sources[0], "_stg", read_from=path)]
    else:
        # messages name the landed file, not the archive copy it is read from
        document = parse_json_bounded(path.read_bytes(), name, limits.reader_max_nesting)
        seen: dict = {}  # each key's columns, built once for the sources that share it
        staged = [read_json_records(Path(name), document, s, "_stg", seen) for s in sources]
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

# How many bytes of replies (pickled staged columns, ~1/3 of the parsed file in memory) the
# worker may read ahead of the loader. A national xlsx file's reply is ~20 MB: at 256 MB the
# worker stopped ~12 sheets ahead and the loader, reaching douyin's and xiaohongshu's chunks,
# waited 11-13 s of the national quarter for it; at 512 MB (and three chunks admitted ahead)
# ~2 s, the loader's peak RSS ~2.3 GB instead of ~2.1 GB (README Measured).
READ_AHEAD_BYTES = 512 * 1024 * 1024


@dataclass
class _Worker:
    process: subprocess.Popen
    requests: Connection
    replies: Connection


@dataclass
class _Job:
    request: tuple
    name: str
    reply: tuple[str, object] | None = None  # ("reply", pickled bytes) or ("rejected", message)
    sent: bool = False


class FileReaderPool:
    """One reader worker for an ingest run: ``submit`` queues a file, ``result`` returns what the
    oldest queued file staged or raises FileRejected for it.

    A pump thread feeds the worker one file at a time and keeps its replies (as pickled bytes,
    at most ``READ_AHEAD_BYTES`` of them), so the worker goes on parsing queued files while the
    loader is busy elsewhere (issue 17: it idled while each chunk was normalised and applied).
    Only the pump talks to the worker; each file's time limit runs from the moment the worker
    gets it, and a file that kills the worker or overruns is rejected on its own, the next one
    going to a fresh worker.
    """

    def __init__(self, limits: InputLimits | None = None) -> None:
        self.limits = limits or get_settings().input_limits()
        self._worker: _Worker | None = None
        self.started = 0  # workers started (one per run unless a file killed one)
        self._jobs: deque[_Job] = deque()  # submitted, result not taken, in order
        self._cv = threading.Condition()
        self._pump: threading.Thread | None = None
        self._stop = threading.Event()
        self._pump_error: BaseException | None = None

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

    # --- the pump (its own thread: the only one that talks to the worker) ---------------

    def _next_job(self) -> _Job | None:
        """The first job not sent yet, when the replies held leave room; None to wait."""
        held = sum(len(j.reply[1]) for j in self._jobs if j.reply and j.reply[0] == "reply")
        if held >= READ_AHEAD_BYTES:
            return None
        return next((j for j in self._jobs if not j.sent), None)

    def _pump_loop(self, stop: threading.Event) -> None:
        try:
            while True:
                with self._cv:
                    while not stop.is_set() and (job := self._next_job()) is None:
                        self._cv.wait()
                    if stop.is_set():
                        return
                    job.sent = True
                reply = self._read(job, stop)
                with self._cv:
                    job.reply = reply
                    self._cv.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the loader waiting in result()
            with self._cv:
                self._pump_error = exc
                self._cv.notify_all()

    def _read(self, job: _Job, stop: threading.Event) -> tuple[str, object]:
        """Hand the worker one file and wait for its reply, within the file's time limit."""
        # Worker changes happen under the lock: cancel() kills whichever worker it finds there.
        with self._cv:
            if stop.is_set():
                return ("rejected", f"{job.name}: cancelled")
            if self._worker is None or self._worker.process.poll() is not None:
                self._kill()
                self._worker = self._start()
            w, limits = self._worker, self.limits
        try:
            w.requests.send(job.request)
            if not w.replies.poll(limits.reader_timeout_s):
                with self._cv:
                    self._kill()
                return ("rejected", f"{job.name}: reading took longer than {limits.reader_timeout_s:g} s "
                        "(MP_READER_TIMEOUT_S); set aside")  # fmt: skip
            return ("reply", w.replies.recv_bytes())
        except (EOFError, OSError):
            # The worker died mid-file (an allocation past the address-space limit aborts it),
            # or cancel() killed it: then nobody takes this reply.
            code = w.process.wait(5)
            with self._cv:
                self._kill()
            return ("rejected", f"{job.name}: the reader died (exit code {code}) reading it, at the memory "
                    f"limit of {limits.reader_memory_mb} MB (MP_READER_MEMORY_MB); set aside")  # fmt: skip

    def _stop_pump(self) -> None:
        if self._pump is not None:
            with self._cv:
                self._stop.set()
                self._cv.notify_all()
            self._pump.join()
            self._pump = None

    # --- the loader's side ----------------------------------------------------------------

    @property
    def pending(self) -> str | None:
        """The landed name of the oldest file submitted whose result is not taken yet."""
        return self._jobs[0].name if self._jobs else None

    @property
    def read_ahead(self) -> list[str]:
        """The landed names of submitted files the worker has read, their results not taken yet."""
        with self._cv:
            return [j.name for j in self._jobs if j.reply is not None]

    def submit(self, fmt: str, path: Path, name: str, sources: list[Source]) -> None:
        """Queue one file (``path``, the archived copy of landed file ``name``) and return at
        once; ``result`` takes what it staged, in the order the files were submitted."""
        with self._cv:
            self._jobs.append(_Job((fmt, path, name, sources, self.limits), name))
            if self._pump is None:
                self._stop, self._pump_error = threading.Event(), None
                self._pump = threading.Thread(
                    target=self._pump_loop, args=(self._stop,), name="mp-reader-pump", daemon=True
                )
                self._pump.start()
            self._cv.notify_all()

    def result(self) -> list[StagedTable]:
        """What the oldest submitted file staged; raises FileRejected for the file."""
        with self._cv:
            if not self._jobs:
                raise RuntimeError("no file was submitted to the reader worker")
            job = self._jobs[0]
            while job.reply is None and self._pump_error is None:
                self._cv.wait()
            if job.reply is None:
                raise RuntimeError("the reader pump failed") from self._pump_error
            self._jobs.popleft()
            self._cv.notify_all()  # room for the pump to read further ahead
        status, payload = job.reply
        if status == "reply":
            status, payload = pickle.loads(payload)
        if status == "ok":
            return payload
        if payload == "memory":
            raise FileRejected(
                f"{job.name}: the reader exceeded the memory limit of {self.limits.reader_memory_mb} MB "
                "(MP_READER_MEMORY_MB); set aside"
            )
        raise FileRejected(payload)

    def cancel(self) -> None:
        """Forget every submitted file whose result nobody will take (a run that stopped early):
        the worker is stopped, so a late reply can never be taken for another run's file."""
        if self._jobs:  # with none, the pump is idle and the worker kept for the next run
            with self._cv:
                self._stop.set()
                self._jobs.clear()
                if self._worker is not None and self._worker.process.poll() is None:
                    self._worker.process.kill()  # the pump, waiting on its reply, sees the pipe close
            self._stop_pump()
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
        if self._jobs:
            self.cancel()
        self._stop_pump()
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
