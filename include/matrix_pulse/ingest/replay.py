"""The state of one run: the ledger as it stood, and each source-day's deliveries replayed in arrival order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from matrix_pulse.clock import shanghai_now
from matrix_pulse.ingest.discovery import LandedFile, sources_by_folder
from matrix_pulse.ingest.isolation import FileReaderPool
from matrix_pulse.ingest.pii import hmac_key
from matrix_pulse.ingest.summary import FileOutcome
from matrix_pulse.settings import Settings

ACTIVE_STATUSES = ("loaded", "gx_failed")  # the delivery that currently holds a source-day
SAME_BYTES_STATUSES = ("loaded", "gx_failed", "rejected")  # a new file with these bytes is a duplicate


@dataclass
class RunFile:
    """One new file of the run: what happened to it and what the ledger will say."""

    f: LandedFile
    sha: str
    fmt: str
    fid: int
    outcome: FileOutcome
    archive_path: Path | None = None
    extras: list[str] = field(default_factory=list)
    tables: dict[str, list[int]] = field(default_factory=dict)  # raw_table -> [read, loaded, set aside]
    replaced_by: str | None = None

    @property
    def file_id(self) -> str:
        return f"{self.f.rel_path}@{self.sha[:12]}"


@dataclass
class DayState:
    """Replays a source-day's deliveries in arrival order, as one-by-one loads would."""

    prev_active: bool  # an earlier run's delivery holds the day
    prev_rejected_open: bool  # an earlier run's rejected delivery waits for a replacement
    current: RunFile | None = None  # this run's delivery holding the day
    replaces_prev: str | None = None  # file_id that displaces the earlier run's delivery
    closes_prev_rejected: str | None = None
    pending_rejected: list[RunFile] = field(default_factory=list)

    def add(self, rf: RunFile) -> None:
        if rf.outcome.status == "rejected":
            self.pending_rejected.append(rf)
            return
        if self.current is not None:
            self.current.outcome.status = "replaced"
            self.current.replaced_by = rf.file_id
        elif self.prev_active and self.replaces_prev is None:
            self.replaces_prev = rf.file_id
        if self.prev_rejected_open and self.closes_prev_rejected is None:
            self.closes_prev_rejected = rf.file_id
        for r in self.pending_rejected:
            r.replaced_by = rf.file_id
        self.pending_rejected = []
        self.current = rf


class IngestContext:
    """State shared by the files of one run: connection, key, run id, scratch folder, ledger."""

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, run_id: str, scratch: Path):
        self.settings = settings
        self.con = con
        self.run_id = run_id
        self.scratch = scratch
        self.now = shanghai_now()
        self._key: bytes | None = None
        self.by_folder = sources_by_folder()
        # The ledger as it stood before the run (one query, not one per file).
        rows = con.execute(
            "SELECT file_name, size_bytes, file_mtime, sha256, source, data_date, status, file_id, replaced_by "
            "FROM meta.load_ledger"
        ).fetchall()
        self.known_stat = {(r[0], r[1], r[2]) for r in rows}
        self.known_sha = {(r[0], r[3]) for r in rows}
        self.same_bytes: dict[tuple[str, dt.date, str], list[tuple[str, str]]] = {}
        self.active_days: set[tuple[str, dt.date]] = set()
        self.open_rejected_days: set[tuple[str, dt.date]] = set()
        for r in rows:
            if r[6] in SAME_BYTES_STATUSES:
                self.same_bytes.setdefault((r[4], r[5], r[3]), []).append((r[7], r[6]))
            if r[6] in ACTIVE_STATUSES:
                self.active_days.add((r[4], r[5]))
            if r[6] == "rejected" and r[8] is None:
                self.open_rejected_days.add((r[4], r[5]))
        self.days: dict[tuple[str, dt.date], DayState] = {}
        self.run_bytes: dict[tuple[str, dt.date, str], RunFile] = {}
        self.next_fid = 0
        # H5: xlsx/JSON are read in a limited worker (isolation.py)
        self.readers = FileReaderPool.shared(settings.input_limits())

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = hmac_key(self.settings)
        return self._key

    def day(self, f: LandedFile) -> DayState:
        k = (f.folder, f.data_date)
        if k not in self.days:
            self.days[k] = DayState(k in self.active_days, k in self.open_rejected_days)
        return self.days[k]

    def duplicate_of(self, f: LandedFile, sha: str) -> tuple[str, str] | None:
        """(file_id, status) of a delivery with the same bytes for the same source-day."""
        earlier = self.run_bytes.get((f.folder, f.data_date, sha))
        if earlier is not None and earlier.outcome.status in ("loaded", "rejected"):
            return earlier.file_id, earlier.outcome.status
        state = self.days.get((f.folder, f.data_date))
        for file_id, status in self.same_bytes.get((f.folder, f.data_date, sha), []):
            if status in ACTIVE_STATUSES and state is not None and state.replaces_prev:
                continue  # already displaced by a delivery earlier in this run
            return file_id, status
        return None
