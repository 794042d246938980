"""config/pull.yaml as data: which transport and connection each landing folder uses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from matrix_pulse.settings import Settings, get_settings
from matrix_pulse.sources import LANDING_FOLDERS

API_TRANSPORTS = ("wechat_oa", "wechat_channels", "bilibili")
TRANSPORTS = (*API_TRANSPORTS, "sftp")


@dataclass(frozen=True)
class HttpOptions:
    timeout_seconds: float = 30
    max_retries: int = 4
    backoff_seconds: float = 5
    page_size: int = 100


@dataclass(frozen=True)
class PullSource:
    folder: str  # landing folder = the load ledger's source
    transport: str
    conn_id: str
    remote_dir: str | None = None  # sftp only

    @property
    def is_api(self) -> bool:
        return self.transport in API_TRANSPORTS


@dataclass(frozen=True)
class PullConfig:
    sources: dict[str, PullSource]
    since: dt.date
    retry_days: int = 14
    http: HttpOptions = field(default_factory=HttpOptions)
    settle_seconds: float = 5
    parallel_downloads: int = 4  # SFTP files in flight per connection (one channel each)


class PullConfigError(ValueError):
    pass


def load_pull_config(path: Path | None = None, settings: Settings | None = None) -> PullConfig:
    """Read and check the pull configuration; an unknown folder or transport is an error
    naming the file and the key, so a typo never silently turns a source back to manual."""
    import yaml

    settings = settings or get_settings()
    path = path or settings.pull_config_path
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    defaults = raw.get("defaults") or {}
    sources: dict[str, PullSource] = {}
    for folder, spec in (raw.get("sources") or {}).items():
        spec = spec or {}
        transport = spec.get("transport", "none")
        if folder not in LANDING_FOLDERS:
            raise PullConfigError(f"{path}: sources.{folder}: not a landing folder of the contract")
        if transport in (None, "none"):
            continue
        if transport not in TRANSPORTS:
            raise PullConfigError(
                f"{path}: sources.{folder}.transport: expected one of {', '.join(TRANSPORTS)}, found {transport!r}"
            )
        if not spec.get("conn_id"):
            raise PullConfigError(f"{path}: sources.{folder}.conn_id: missing")
        if transport == "sftp" and not spec.get("remote_dir"):
            raise PullConfigError(
                f"{path}: sources.{folder}.remote_dir: missing (sftp needs a remote folder)"
            )
        sources[folder] = PullSource(folder, transport, spec["conn_id"], spec.get("remote_dir"))
    # MP_PULL_SINCE (settings.pull_since) overrides (the demo sets it to the first simulated day).
    since = settings.pull_since or defaults.get("since", "2026-07-01")
    return PullConfig(
        sources=sources,
        since=since if isinstance(since, dt.date) else dt.date.fromisoformat(str(since)),
        retry_days=int(defaults.get("retry_days", 14)),
        http=HttpOptions(**(defaults.get("http") or {})),
        settle_seconds=float((defaults.get("sftp") or {}).get("settle_seconds", 5)),
        parallel_downloads=max(1, int((defaults.get("sftp") or {}).get("parallel_downloads", 4))),
    )
