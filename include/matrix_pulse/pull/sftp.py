"""SFTP drop folders through Airflow's SFTPHook (paramiko underneath).

A remote file is pulled only when its size and mtime are the same at two looks
``settle_seconds`` apart (a dealer's upload still running is left for the next run). It is
downloaded to a temporary name, checksummed, then renamed into landing, so a half-copied file
never lands. A remote file whose size or mtime differs from when it was last pulled is a
re-delivery and is pulled again; identical bytes land nothing ('unchanged').
"""

from __future__ import annotations

import datetime as dt
import posixpath
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from matrix_pulse.ingest.discovery import classify, sources_by_folder
from matrix_pulse.pull.config import PullSource


@dataclass(frozen=True)
class RemoteFile:
    name: str
    path: str  # remote path
    data_date: dt.date
    size: int
    mtime: int


@dataclass(frozen=True)
class Listing:
    stable: list[RemoteFile]
    moving: list[RemoteFile]  # still being written
    ignored: list[tuple[str, str]]  # (name, why): not an export of this source
    error: str | None = None  # the folder could not be listed


def _look(sftp, remote_dir: str, folder: str) -> tuple[dict[str, RemoteFile], list[tuple[str, str]]]:
    ext = sources_by_folder()[folder][0].fmt
    files: dict[str, RemoteFile] = {}
    ignored: list[tuple[str, str]] = []
    for attr in sftp.listdir_attr(remote_dir):
        if attr.st_mode is not None and not stat.S_ISREG(attr.st_mode):
            continue
        day, why = classify(folder, attr.filename, ext)
        if day is None:
            ignored.append((attr.filename, why or "unrecognised"))
            continue
        files[attr.filename] = RemoteFile(
            attr.filename,
            posixpath.join(remote_dir, attr.filename),
            day,
            int(attr.st_size or 0),
            int(attr.st_mtime or 0),
        )
    return files, ignored


def list_stable(
    sftp, sources: list[PullSource], settle_seconds: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Listing]:
    """Two looks at each remote folder (one wait for all of them); only files unchanged
    between the looks are stable."""
    first: dict[str, tuple[dict[str, RemoteFile], list[tuple[str, str]]]] = {}
    out: dict[str, Listing] = {}
    for s in sources:
        try:
            first[s.folder] = _look(sftp, s.remote_dir or "", s.folder)
        except OSError as e:
            out[s.folder] = Listing([], [], [], f"cannot list {s.remote_dir}: {type(e).__name__}: {e}")
    sleep(settle_seconds)
    for s in sources:
        if s.folder in out:
            continue
        before, ignored = first[s.folder]
        try:
            after, _ = _look(sftp, s.remote_dir or "", s.folder)
        except OSError as e:
            out[s.folder] = Listing([], [], [], f"cannot list {s.remote_dir}: {type(e).__name__}: {e}")
            continue
        stable, moving = [], []
        for name, f in sorted(after.items()):
            b = before.get(name)
            (stable if b is not None and (b.size, b.mtime) == (f.size, f.mtime) else moving).append(f)
        out[s.folder] = Listing(stable, moving, ignored)
    return out


class SftpSession:
    """One SFTPHook connection for all the folders behind the same conn_id."""

    def __init__(self, conn_id: str) -> None:
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        self.hook = SFTPHook(ssh_conn_id=conn_id)
        self._cm = None

    def __enter__(self) -> SftpSession:
        self._cm = self.hook.get_managed_conn()
        self.sftp = self._cm.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._cm is not None
        self._cm.__exit__(*exc)

    def listings(
        self, sources: list[PullSource], settle_seconds: float, sleep: Callable[[float], None] = time.sleep
    ) -> dict[str, Listing]:
        return list_stable(self.sftp, sources, settle_seconds, sleep)

    def retrieve(self, remote: RemoteFile, local_path) -> None:
        self.hook.retrieve_file(remote.path, str(local_path))


def group_by_conn(sources: list[PullSource]) -> Iterator[tuple[str, list[PullSource]]]:
    by: dict[str, list[PullSource]] = {}
    for s in sources:
        by.setdefault(s.conn_id, []).append(s)
    yield from by.items()
