"""Every landed file kept byte for byte as it arrived, under its checksum."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from matrix_pulse.ingest.discovery import LandedFile
from matrix_pulse.ingest.readers import FileRejected
from matrix_pulse.settings import Settings


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive_file(settings: Settings, f: LandedFile, sha: str, data: bytes | None = None) -> Path:
    """Keep the landed file byte for byte as archive/<folder>/<sha256>.<ext> (write-once).

    ``data`` are the bytes the checksum was computed from (the loader reads a file once);
    without them the file is read again and must still match ``sha``.
    """
    target = settings.archive_dir / f.folder / f"{sha}{f.path.suffix.lower()}"
    if target.exists():
        return target
    if data is None:
        data = f.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise FileRejected(
                f"{f.rel_path}: changed while being archived (checksum mismatch); retried next run"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temp name and rename, so a crash never leaves a half file under a checksum name.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o440)
    os.replace(tmp, target)
    return target
