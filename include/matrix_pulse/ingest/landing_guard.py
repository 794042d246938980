"""Landing folders trust nothing: what may be read, and how unknown content is quoted.

A landing folder is written by other people's machines. Only regular files with a plain
name are read; a symlink (it could point at the PII key file or /etc/shadow), a device,
a FIFO (a read would block forever), a socket or a folder are refused and reported, and
so is a name with a control or bidi character (a newline in a name forges log lines and
lands in the archive as ``<sha>.xlsx\\n``). The file is opened with O_NOFOLLOW and checked
again on the open descriptor, so a file swapped for a symlink after the scan is refused too.

Every message that quotes what a file contains (a header, a cell, a parser's complaint)
goes through ``excerpt``: at most ``error_excerpt_chars`` characters, control characters
escaped. So a ledger reason, a log line or an XCom never carries more than a short,
one-line piece of unknown text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from matrix_pulse.clock import shanghai_today
from matrix_pulse.settings import get_settings


class LandingRefused(Exception):
    """The entry is not read at all; the message says why (and quotes its name escaped)."""


def _escape_char(ch: str) -> str:
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def _unsafe(ch: str) -> bool:
    # Cc: C0/C1 controls (newline, ESC for terminal tricks); Cf: format characters, among
    # them the bidi overrides that make a name read differently from what it is.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def escape(text: str) -> str:
    """``text`` on one line, every control/format character written as a visible escape."""
    return "".join(_escape_char(c) if _unsafe(c) else c for c in text)


def excerpt(value: object, limit: int | None = None) -> str:
    """A bounded, escaped, quoted excerpt of unknown content, saying how much was left out."""
    text = value if isinstance(value, str) else repr(value)
    limit = get_settings().error_excerpt_chars if limit is None else limit
    cut = text[:limit]
    more = len(text) - len(cut)
    return "'" + escape(cut) + "'" + (f"…(+{more} chars)" if more else "")


def excerpt_list(values: list[object], limit_items: int = 8) -> str:
    """A list of unknown texts (e.g. a file's headers), each excerpted, at most ``limit_items``."""
    shown = ", ".join(excerpt(v) for v in values[:limit_items])
    more = len(values) - limit_items
    return f"[{shown}{f', …(+{more} more)' if more > 0 else ''}]"


def name_refusal(name: str) -> str | None:
    """Why a landing entry's name is refused, or None when the name is plain."""
    bad = sorted({c for c in name if _unsafe(c)})
    if bad:
        return "name contains control/format character(s) " + ", ".join(_escape_char(c) for c in bad)
    return None


def entry_refusal(path: Path) -> str | None:
    """Why a landing entry is refused (by its own inode, never following a link), or None."""
    why = name_refusal(path.name)
    if why:
        return why
    try:
        st = path.lstat()
    except OSError as exc:
        return f"cannot stat ({type(exc).__name__})"
    if stat.S_ISLNK(st.st_mode):
        return "symbolic link refused (only regular files are read)"
    if stat.S_ISREG(st.st_mode):
        return None
    kind = (
        "folder" if stat.S_ISDIR(st.st_mode)
        else "FIFO" if stat.S_ISFIFO(st.st_mode)
        else "socket" if stat.S_ISSOCK(st.st_mode)
        else "device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
        else "special file"
    )  # fmt: skip
    return f"{kind} refused (only regular files are read)"


@contextlib.contextmanager
def open_regular_file(path: Path) -> Iterator[int]:
    """A landed regular file's descriptor, opened without following a link (TOCTOU-safe)."""
    try:
        # O_NONBLOCK: a FIFO swapped in after the scan must not block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LandingRefused(
            f"{escape(path.name)}: refused at open ({type(exc).__name__}: not a plain file)"
        ) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LandingRefused(f"{escape(path.name)}: refused at open (not a regular file)")
        yield fd
    finally:
        os.close(fd)


def data_date_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(oldest, newest) data date a landed file may carry (MP_DATA_DATE_PAST/FUTURE_DAYS)."""
    settings = get_settings()
    today = today or shanghai_today()
    return today - dt.timedelta(days=settings.data_date_past_days), today + dt.timedelta(
        days=settings.data_date_future_days
    )


def _stamp(day: dt.date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"  # strftime drops the zeros of year 1


def date_refusal(
    data_date: dt.date, today: dt.date | None = None, window: tuple[dt.date, dt.date] | None = None
) -> str | None:
    """Why a data date is refused, or None; ``window``: a scan computes it once for all its files."""
    lo, hi = window or data_date_window(today)
    if lo <= data_date <= hi:
        return None
    return (
        f"data date {_stamp(data_date)} outside the accepted window {_stamp(lo)}..{_stamp(hi)} "
        "(MP_DATA_DATE_PAST_DAYS / MP_DATA_DATE_FUTURE_DAYS)"
    )
