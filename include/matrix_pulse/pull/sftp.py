"""SFTP drop folders through Airflow's SFTPHook (paramiko underneath).

A remote file is pulled only when its size and mtime are the same at two looks
``settle_seconds`` apart (a dealer's upload still running is left for the next run). It is
downloaded to a temporary name, checksummed, then renamed into landing, so a half-copied file
never lands. A remote file whose size or mtime differs from when it was last pulled is a
re-delivery and is pulled again; identical bytes land nothing ('unchanged').

Downloads overlap: a file costs three round trips (open, the pipelined reads, close) plus the
temp file's fsync, ~20 ms of which the client spends waiting, so ``parallel_downloads`` files
are in flight at once, each on its own SFTP channel of the one SSH connection (a channel is
used by one thread at a time). Results come back in listing order, and the caller lands and
records each file on its own thread, one file at a time, exactly as before.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import queue
import stat
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from matrix_pulse.ingest.discovery import classify, sources_by_folder
from matrix_pulse.pull.config import PullSource

log = logging.getLogger(__name__)


T = TypeVar("T")


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


# folder -> (files, ignored) at one look, or why the folder could not be listed
Look = dict[str, "tuple[dict[str, RemoteFile], list[tuple[str, str]]] | str"]


def first_look(sftp, sources: list[PullSource]) -> Look:
    out: Look = {}
    for s in sources:
        try:
            out[s.folder] = _look(sftp, s.remote_dir or "", s.folder)
        except OSError as e:
            out[s.folder] = f"cannot list {s.remote_dir}: {type(e).__name__}: {e}"
    return out


def second_look(sftp, sources: list[PullSource], first: Look, recheck: set[str]) -> dict[str, Listing]:
    """Look again at the folders in ``recheck``: only files unchanged since the first look are
    stable. A folder not rechecked (nothing in it was due at the first look) keeps its first
    look; whatever changed in it since is the next run's, as if this run had come a little
    earlier."""
    out: dict[str, Listing] = {}
    for s in sources:
        before = first[s.folder]
        if isinstance(before, str):
            out[s.folder] = Listing([], [], [], before)
            continue
        files, ignored = before
        if s.folder not in recheck:
            out[s.folder] = Listing(sorted(files.values(), key=lambda f: f.name), [], ignored)
            continue
        try:
            after, _ = _look(sftp, s.remote_dir or "", s.folder)
        except OSError as e:
            out[s.folder] = Listing([], [], [], f"cannot list {s.remote_dir}: {type(e).__name__}: {e}")
            continue
        stable, moving = [], []
        for name, f in sorted(after.items()):
            b = files.get(name)
            (stable if b is not None and (b.size, b.mtime) == (f.size, f.mtime) else moving).append(f)
        out[s.folder] = Listing(stable, moving, ignored)
    return out


class SftpSession:
    """One SFTPHook connection for all the folders behind the same conn_id."""

    def __init__(self, conn_id: str) -> None:
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        self.hook = SFTPHook(ssh_conn_id=conn_id)
        self._cm = None
        self._extra: list = []  # more SFTP channels on the same SSH connection (downloads)
        self._refused = False

    def __enter__(self) -> SftpSession:
        self._cm = self.hook.get_managed_conn()
        self.sftp = self._cm.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._cm is not None
        for c in self._extra:
            c.close()
        self._cm.__exit__(*exc)

    def first_look(self, sources: list[PullSource]) -> Look:
        return first_look(self.sftp, sources)

    def second_look(self, sources: list[PullSource], first: Look, recheck: set[str]) -> dict[str, Listing]:
        return second_look(self.sftp, sources, first, recheck)

    def downloads(
        self,
        files: list[RemoteFile],
        to_temp: Callable[[RemoteFile, Callable[[BinaryIO], None]], T],
        workers: int,
        discard: Callable[[T], None],
    ) -> Iterator[tuple[RemoteFile, T | Exception]]:
        """Download ``files`` with up to ``workers`` in flight; yield (file, ``to_temp``'s result
        or the exception) in the order given. ``to_temp(file, write)`` runs on a worker thread:
        it opens a temp file, calls ``write(out)`` to stream the remote bytes into it, syncs it
        and returns what the caller needs to land it (it must remove its temp file if it fails).
        A result finished but never taken (the caller stopped early) is passed to ``discard``,
        which removes its temp file."""
        channels = self._channels(max(1, min(workers, len(files))))
        pool: queue.SimpleQueue = queue.SimpleQueue()
        for c in channels:
            pool.put(c)

        def one(f: RemoteFile) -> T:
            sftp = pool.get()
            try:
                return to_temp(f, lambda out: read_remote(sftp, f, out))
            finally:
                pool.put(sftp)

        pending: deque[tuple[RemoteFile, Future]] = deque()
        todo = iter(files)
        with ThreadPoolExecutor(len(channels), thread_name_prefix="sftp-get") as ex:
            # A bounded window: at most two files per channel wait in temp files, so a crash
            # leaves few .part files behind and memory stays flat however many files are due.
            for f in todo:
                pending.append((f, ex.submit(one, f)))
                if len(pending) >= 2 * len(channels):
                    break
            try:
                while pending:
                    f, fut = pending.popleft()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending.append((nxt, ex.submit(one, nxt)))
                    try:
                        got: T | Exception = fut.result()
                    except Exception as e:  # noqa: BLE001 - one file's error is that file's
                        got = e
                    yield f, got
            finally:
                for _, fut in pending:
                    fut.cancel()
                for _, fut in pending:  # finished but never landed: drop their temp files
                    if not fut.cancelled() and fut.exception() is None:
                        discard(fut.result())

    def _channels(self, n: int) -> list:
        """The session's own SFTP client and up to n - 1 more channels on its SSH transport (kept
        for the session); a server that refuses more channels (OpenSSH's MaxSessions) just gets
        fewer files in flight."""
        transport = self.sftp.get_channel().get_transport()
        while len(self._extra) < n - 1 and not self._refused:
            try:
                self._extra.append(transport.open_sftp_client())
            except Exception as e:  # noqa: BLE001 - fewer channels, not a failed pull
                log.info(
                    "SFTP: %d channels open, another refused (%s)", 1 + len(self._extra), type(e).__name__
                )
                self._refused = True
        return [self.sftp, *self._extra[: n - 1]]


def read_remote(sftp, remote: RemoteFile, out: BinaryIO) -> None:
    """Stream one remote file into ``out``: open, reads pipelined up to the listed size, close.
    (SFTPClient.get stats the file first for that size; the listing already gave it. Bytes past
    the listed size are still read, so a file that grew is caught by the size check.)"""
    with sftp.open(remote.path, "rb") as f:
        f.prefetch(remote.size)
        while block := f.read(1 << 20):
            out.write(block)


def group_by_conn(sources: list[PullSource]) -> Iterator[tuple[str, list[PullSource]]]:
    by: dict[str, list[PullSource]] = {}
    for s in sources:
        by.setdefault(s.conn_id, []).append(s)
    yield from by.items()
