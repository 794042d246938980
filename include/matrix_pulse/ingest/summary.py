"""What a run did to each new file (``FileOutcome``) and to the landing as a whole (``IngestSummary``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from matrix_pulse.ingest.discovery import JunkFile


@dataclass
class FileOutcome:
    file_name: str
    source: str
    fmt: str
    data_date: dt.date
    status: str
    reason: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_set_aside: int = 0
    seconds: float = 0.0


def share_seconds(seconds: float, shares: list[tuple[FileOutcome, int]]) -> None:
    """Apportion a batched step's time across its files by weight (rows; +1, so empty files pay a little)."""
    total = sum(w + 1 for _, w in shares)
    for outcome, w in shares:
        outcome.seconds += seconds * (w + 1) / total


@dataclass
class IngestSummary:
    run_id: str
    files: list[FileOutcome] = field(default_factory=list)
    ignored: list[JunkFile] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    skipped_known: int = 0

    def by_status(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def rejected(self) -> list[FileOutcome]:
        return self.by_status("rejected")

    def rows_per_second(self) -> dict[str, float]:
        """Rows read per second of load time, by file format (the benchmark figure)."""
        out: dict[str, float] = {}
        for fmt in sorted({f.fmt for f in self.files}):
            rows = sum(f.rows_read for f in self.files if f.fmt == fmt)
            secs = sum(f.seconds for f in self.files if f.fmt == fmt)
            out[fmt] = rows / secs if secs else 0.0
        return out

    def share_overhead(self, elapsed: float) -> None:
        """What no single step owns (connecting, the ledger, the run record) is shared by rows too,
        so the files' seconds add up to the run's ``elapsed``."""
        overhead = elapsed - sum(o.seconds for o in self.files)
        if self.files and overhead > 0:
            share_seconds(overhead, [(o, o.rows_read) for o in self.files])

    def describe(self) -> str:
        counts = {s: len(self.by_status(s)) for s in ("loaded", "rejected", "duplicate_delivery", "replaced")}
        lines = [
            f"ingest run {self.run_id}: {len(self.files)} new file(s) {counts}, "
            f"{self.skipped_known} already loaded, {len(self.ignored)} ignored, {len(self.in_progress)} still being written"
        ]
        lines += [f"  rejected {f.file_name}: {f.reason}" for f in self.rejected]
        lines += [f"  ignored {j.rel_path}: {j.reason}" for j in self.ignored]
        lines += [f"  not yet (still being written) {p}" for p in self.in_progress]
        return "\n".join(lines)
