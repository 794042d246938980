"""When and how a simulated file lands, and the quarter a day belongs to: shared by the
simulator's content/CRM files (``run``) and its WeCom files (``wecom``)."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

SHANGHAI = ZoneInfo("Asia/Shanghai")  # every time in the input contract


def quarter_label(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def landing_time(landed: date, day: date, rng: np.random.Generator) -> datetime:
    """When the file reached the landing folder (Asia/Shanghai), as the contract describes it.

    A file landing on D+1 arrives in the night export window (00:30-05:59), before the
    deadline; one landing later was sent by hand during office hours (08:00-21:59), so
    it is late by any deadline up to D+2 08:00.
    """
    if landed == day + timedelta(days=1):
        minute = int(rng.integers(30, 6 * 60))
    else:
        minute = int(rng.integers(8 * 60, 22 * 60))
    return datetime.combine(landed, time(), tzinfo=SHANGHAI) + timedelta(minutes=minute)


def stamp_landing_time(path: Path, landed_at: datetime) -> None:
    """Set the file's mtime to its simulated landing time: the ingest reads landing times from mtimes."""
    stamp = landed_at.timestamp()
    os.utime(path, (stamp, stamp))
