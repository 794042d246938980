"""Every landed file kept byte for byte as it arrived, under its checksum."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from matrix_pulse.ingest.discovery import LandedFile
from matrix_pulse.ingest.landing_guard import open_regular_file
from matrix_pulse.settings import Settings

log = logging.getLogger(__name__)

INCOMING_PREFIX = ".incoming-"
# A copy lives under its temporary name for the seconds between copy_in and keep; one this old
# was left by a run that died in between. Two ingests may run at once on PostgreSQL, so a
# younger one may be another run's copy in flight and is left alone.
STALE_INCOMING_S = 3600.0


def copy_in(settings: Settings, f: LandedFile) -> tuple[Path, bytes]:
    """Copy a landed file into its archive folder under a temporary name; return that copy's
    path and its bytes (the bytes that are checksummed, kept and parsed: all the same bytes).

    The copy is made by the kernel (``os.sendfile``): writing the bytes from Python cost 13.5-14 s
    of a national quarter's 2.6 GB on this machine's disk, the kernel's copy plus reading it
    back 4-5 s (hashing included either way). The landed
    file is opened without following a link, regular files only (H5, landing_guard.py).
    """
    folder = settings.archive_dir / f.folder
    folder.mkdir(parents=True, exist_ok=True)
    with open_regular_file(f.path) as src:
        fd, name = tempfile.mkstemp(dir=folder, prefix=INCOMING_PREFIX)
        tmp = Path(name)
        try:
            while os.sendfile(fd, src, None, 1 << 30):
                pass
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
    return tmp, tmp.read_bytes()


def keep(settings: Settings, f: LandedFile, sha: str, tmp: Path) -> Path:
    """Keep a copy made by ``copy_in`` as archive/<folder>/<sha256>.<ext> (write-once).

    Renamed from its temporary name, so a crash never leaves a half file under a checksum name.
    """
    target = settings.archive_dir / f.folder / f"{sha}{f.path.suffix.lower()}"
    if target.exists():
        tmp.unlink(missing_ok=True)
        return target
    os.chmod(tmp, 0o440)
    os.replace(tmp, target)
    return target


def sweep_stale_copies(settings: Settings) -> list[Path]:
    """Remove the temporary copies a crashed run left in the archive (``copy_in`` before ``keep``):
    never a kept file, and none younger than ``STALE_INCOMING_S``. Returns what was removed."""
    removed: list[Path] = []
    cutoff = time.time() - STALE_INCOMING_S
    for tmp in settings.archive_dir.glob(f"*/{INCOMING_PREFIX}*"):
        try:
            if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:  # another run kept or removed it meanwhile
            continue
    if removed:
        log.warning("removed %d temporary archive copies a crashed run left: %s", len(removed),
                    ", ".join(str(t.relative_to(settings.archive_dir)) for t in removed))  # fmt: skip
    return removed
