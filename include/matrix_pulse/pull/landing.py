"""Put pulled bytes into landing/<folder>/ so a half-written file is never visible.

Bytes go to a temporary name under ``landing/_pull_tmp`` (same file system, a folder the
loader never scans), are checksummed, then renamed into place in one step. A re-delivery
replaces the earlier file under the same name: the loader sees new bytes for the same
source-day and replaces the day, exactly as when someone drops a corrected file by hand.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from matrix_pulse.settings import Settings


def temp_path(settings: Settings, name: str) -> Path:
    folder = settings.landing_dir / "_pull_tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex[:8]}_{name}.part"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_to_temp(settings: Settings, name: str, fetch: Callable[[Path], None]) -> tuple[Path, str, int]:
    """Run ``fetch(temp_path)``; return (temp path, sha256, size). The caller lands or drops it."""
    tmp = temp_path(settings, name)
    try:
        fetch(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        return tmp, sha256_file(tmp), tmp.stat().st_size
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Hashing:
    """A write-only file that checksums and counts the bytes on their way to disk."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.h, self.size = f, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.h.update(data)
        self.size += len(data)
        return self.f.write(data)


def stream_to_temp(settings: Settings, name: str, write: Callable[[BinaryIO], None]) -> tuple[Path, str, int]:
    """``write(out)`` streams the bytes into a temp file; return (temp path, sha256, size), the
    file synced to disk. Like ``download_to_temp`` without reading the file back to hash it."""
    tmp = temp_path(settings, name)
    try:
        with tmp.open("wb") as f:
            out = _Hashing(f)
            write(out)
            f.flush()
            os.fsync(f.fileno())
        return tmp, out.h.hexdigest(), out.size
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def land_temp(settings: Settings, tmp: Path, folder: str, name: str, mtime: float | None = None) -> str:
    """Rename a checksummed temp file into landing/<folder>/<name>; returns '<folder>/<name>'.

    ``mtime`` keeps the remote file's time (an SFTP delivery's lateness is the deliverer's,
    not our pull schedule's)."""
    target_dir = settings.landing_dir / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    os.replace(tmp, target_dir / name)
    return f"{folder}/{name}"


def land_bytes(
    settings: Settings, folder: str, name: str, data: bytes, mtime: float | None = None
) -> tuple[str, str]:
    """Write bytes to landing atomically; returns ('<folder>/<name>', sha256). ``mtime``: the
    API's Last-Modified for the day, when it sent one."""
    tmp, sha, _ = download_to_temp(settings, name, lambda p: p.write_bytes(data))
    return land_temp(settings, tmp, folder, name, mtime), sha
