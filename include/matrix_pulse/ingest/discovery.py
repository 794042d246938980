"""Find the files in the landing folders that are ready to load, and report the rest.

A landed file is ``<landing>/<folder>/<folder>_YYYYMMDD[suffix].<ext>`` where the suffix
lets a re-delivery sit next to the first delivery (``_v2``, `` (1)``). Everything else in
a source folder (``.tmp`` partials, ``~$`` Excel lock files, READMEs, bad dates) is junk:
ignored and reported, never loaded. A file whose size or mtime changes between two looks
is still being written and waits for the next run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from matrix_pulse.clock import shanghai_wall_time_of_timestamp
from matrix_pulse.ingest.landing_guard import data_date_window, date_refusal, entry_refusal, escape
from matrix_pulse.sources import SOURCES, Source, landing_folder


@dataclass(frozen=True)
class LandedFile:
    folder: str  # landing folder = the ledger's ``source``
    path: Path
    rel_path: str  # '<folder>/<name>', as in raw.*.source_file and the simulator manifest
    data_date: dt.date
    size: int
    mtime: float

    @property
    def landed_at(self) -> dt.datetime:
        """When the file arrived (its mtime), Asia/Shanghai wall-clock like every time here."""
        return shanghai_wall_time_of_timestamp(self.mtime)


@dataclass(frozen=True)
class JunkFile:
    rel_path: str
    reason: str


def sources_by_folder() -> dict[str, list[Source]]:
    """Landing folder -> the sources (raw tables) its files feed, in registry order."""
    out: dict[str, list[Source]] = {}
    for src in SOURCES.values():
        out.setdefault(landing_folder(src), []).append(src)
    return out


def _name_pattern(folder: str, ext: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(folder)}_(\d{{8}})(?:[_\-. (][^/]*)?\.{ext}$", re.IGNORECASE)


def classify(folder: str, name: str, ext: str) -> tuple[dt.date | None, str | None]:
    """(data date, None) for a loadable file name, (None, why not) for junk."""
    if name.startswith("~$"):
        return None, "Excel lock file (~$)"
    if name.startswith("."):
        return None, "hidden file"
    if name.lower().endswith((".tmp", ".part", ".partial", ".crdownload")):
        return None, "partial download (.tmp)"
    m = _name_pattern(folder, ext).match(name)
    if not m:
        return None, f"name does not match {folder}_YYYYMMDD.{ext}"
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%d").date(), None
    except ValueError:
        return None, f"'{m.group(1)}' in the name is not a valid YYYYMMDD date"


def scan_landing(
    landing_dir: Path, folders: list[str] | None = None, stable_seconds: float = 2.0
) -> tuple[list[LandedFile], list[JunkFile], list[str]]:
    """(ready files, junk, files still being written) under ``landing_dir``.

    Only files modified within the last ``stable_seconds`` get a second look, so a backlog
    of old files costs no waiting.
    """
    by_folder = sources_by_folder()
    wanted = folders or list(by_folder)
    ready: list[LandedFile] = []
    junk: list[JunkFile] = []
    candidates: list[tuple[str, Path, dt.date, os.stat_result]] = []
    if not landing_dir.exists():
        return ready, junk, []
    for entry in sorted(landing_dir.iterdir()):
        # Names are escaped wherever they are reported: a newline in one must not forge a log line.
        if entry.name in by_folder:
            if entry.is_symlink() or not entry.is_dir():
                junk.append(JunkFile(escape(entry.name) + "/", entry_refusal(entry) or "not a folder"))
        elif entry.is_dir() and not entry.name.startswith((".", "_")):
            junk.append(JunkFile(escape(entry.name) + "/", "unknown source folder"))
    window = data_date_window()  # once per scan: a backlog holds thousands of files
    for folder in wanted:
        folder_path = landing_dir / folder
        if folder_path.is_symlink() or not folder_path.is_dir():
            continue  # a linked source folder is refused above
        ext = by_folder[folder][0].fmt
        for path in sorted(folder_path.iterdir()):
            rel = f"{folder}/{escape(path.name)}"
            refused = entry_refusal(path)  # symlink, FIFO, device, folder, control characters
            if refused:
                junk.append(JunkFile(rel, refused))
                continue
            data_date, why = classify(folder, path.name, ext)
            if data_date is None:
                junk.append(JunkFile(rel, why or "unrecognised"))
                continue
            # A date far outside the window (99991231, 00010101) would make freshness expect
            # millions of source-days: such a file is set aside and reported, never loaded.
            why = date_refusal(data_date, window=window)
            if why:
                junk.append(JunkFile(rel, why))
                continue
            candidates.append((rel, path, data_date, path.lstat()))

    recent = [c for c in candidates if time.time() - c[3].st_mtime < stable_seconds]
    if recent:
        time.sleep(stable_seconds)
    in_progress: list[str] = []
    recent_rels = {c[0] for c in recent}
    for rel, path, data_date, st in candidates:
        if rel in recent_rels:
            try:
                now = path.stat()
            except FileNotFoundError:
                in_progress.append(rel)
                continue
            if (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                in_progress.append(rel)
                continue
        folder = rel.split("/", 1)[0]
        ready.append(LandedFile(folder, path, rel, data_date, st.st_size, st.st_mtime))
    return ready, junk, in_progress
