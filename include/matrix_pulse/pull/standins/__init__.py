"""Local stand-ins for the remote ends, started by the tests and the demo like the SMTP sink:
``PlatformApiStandIn`` (HTTP, the platforms' request and response shapes and error codes)
and ``SftpStandIn`` (a real SFTP server, asyncssh, on a loopback port). Both serve a
"remote root" laid out like the simulator's output: ``<root>/<folder>/<folder>_YYYYMMDD.<ext>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from matrix_pulse.pull.standins.http_api import PlatformApiStandIn
from matrix_pulse.pull.standins.sftp_server import SftpStandIn

if TYPE_CHECKING:
    from matrix_pulse.pull.config import PullConfig

__all__ = ["PlatformApiStandIn", "SftpStandIn", "failed_pull_days", "lay_out_remote"]


def lay_out_remote(simulated: Path, remote_root: Path, config: PullConfig, days: set | None = None) -> dict:
    """Copy a simulated landing folder into the stand-ins' roots: API sources under
    ``<remote_root>/api/<folder>/``, SFTP sources under ``<remote_root>/sftp/<remote_dir>/``.
    ``days`` (dates) limits which exports are copied. Returns {folder: number of files copied}."""
    import shutil

    from matrix_pulse.ingest.discovery import classify, sources_by_folder

    copied: dict[str, int] = {}
    for folder, src in config.sources.items():
        source_dir = simulated / folder
        if not source_dir.is_dir():
            continue
        target = (
            remote_root / "api" / folder if src.is_api else remote_root / "sftp" / (src.remote_dir or folder)
        )
        target.mkdir(parents=True, exist_ok=True)
        ext = sources_by_folder()[folder][0].fmt
        copied[folder] = 0
        for f in sorted(source_dir.iterdir()):
            day, _ = classify(folder, f.name, ext)
            if not f.is_file() or (day is not None and days is not None and day not in days):
                continue  # junk (a .tmp, a README) is copied too: the pull must leave it
            shutil.copy2(f, target / f.name)
            copied[folder] += 1
    return copied


def failed_pull_days(manifest: dict, config: PullConfig) -> set[tuple[str, str]]:
    """The (folder, ISO date) pairs whose final file a pull through the stand-ins cannot land.

    Decided per mess kind, by what each transport does with it in the real world:
    - SFTP delivers bytes as they are: every file, mess included (a truncated xlsx, a wrong
      encoding, a missing column), lands exactly as written and the loader rejects it as before.
    - An HTTP API assembles the file from parsed JSON answers: a missing key or an extra field
      is in the objects and lands as written; but the simulator's ``invalid_json`` (a body cut
      short) is a truncated HTTP answer, which the pull must refuse (never a short file), so the
      day is a failed pull and then missing, not a rejected file.
    """
    api = {folder for folder, src in config.sources.items() if src.is_api}
    return {
        (f["source"], f["data_date"])
        for f in manifest["files"]
        if f["final"] and f["source"] in api and f["reject_reason"] == "invalid_json"
    }
