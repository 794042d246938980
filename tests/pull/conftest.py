"""Pull tests: the simulator's files behind a real HTTP stand-in and a real SFTP server.

Credentials are generated per test (never in the repo) and reach the pull only through
Airflow connections in the environment (AIRFLOW_CONN_*), as in production.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from matrix_pulse.pull.config import PullConfig, load_pull_config
from matrix_pulse.pull.standins import PlatformApiStandIn, SftpStandIn, lay_out_remote
from matrix_pulse.settings import REPO_ROOT, Settings, get_settings

START, END = dt.date(2026, 7, 1), dt.date(2026, 7, 4)
THROUGH = END


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days of the demo world, written once per session by the real simulator."""
    from matrix_pulse.simulator.run import simulate

    out = tmp_path_factory.mktemp("simulated")
    simulate(out, "demo", START, END, 7, 0.02)
    return out


@dataclass
class Remote:
    settings: Settings
    config: PullConfig
    api: PlatformApiStandIn
    sftp: SftpStandIn
    root: Path
    simulated: Path
    secrets: dict[str, str]

    def sftp_dir(self, folder: str) -> Path:
        return self.root / "sftp" / (self.config.sources[folder].remote_dir or folder)

    def api_dir(self, folder: str) -> Path:
        return self.root / "api" / folder


def write_config(path: Path, **http: object) -> Path:
    """The repo's config/pull.yaml with test timings (short waits, small pages)."""
    import yaml

    raw = yaml.safe_load((REPO_ROOT / "config" / "pull.yaml").read_text(encoding="utf-8"))
    raw["defaults"]["since"] = START.isoformat()
    raw["defaults"]["http"] = {
        "timeout_seconds": 1,
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "page_size": 10,
        **http,
    }
    raw["defaults"]["sftp"] = {"settle_seconds": 0.3}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def remote(
    mp_home: Path, simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Remote]:
    monkeypatch.setenv("MP_PULL_CONFIG", str(write_config(tmp_path / "pull.yaml")))
    monkeypatch.setenv("MP_STABLE_SECONDS", "0.05")
    config = load_pull_config()
    root = tmp_path / "remote"
    lay_out_remote(simulated, root, config)
    creds = {
        "appid": "wx" + secrets.token_hex(8),
        "secret": "sec-" + secrets.token_hex(16),
        "bilibili": "bili-" + secrets.token_hex(16),
        "sftp": "pw-" + secrets.token_hex(12),
    }
    api = PlatformApiStandIn(root / "api", creds["appid"], creds["secret"], creds["bilibili"]).start()
    sftp = SftpStandIn(root / "sftp", "mp_pull", creds["sftp"]).start()
    http_conn = {"conn_type": "http", "host": "127.0.0.1", "port": api.port, "schema": "http"}
    wechat = {**http_conn, "login": creds["appid"], "password": creds["secret"]}
    sftp_conn = {
        "conn_type": "sftp",
        "host": "127.0.0.1",
        "port": sftp.port,
        "login": "mp_pull",
        "password": creds["sftp"],
        "extra": {"host_key": sftp.host_key_line, "look_for_keys": "false"},
    }
    for conn_id, conn in {
        "mp_wechat_oa": wechat,
        "mp_wechat_channels": wechat,
        "mp_bilibili": {**http_conn, "password": creds["bilibili"]},
        "mp_matrix_sftp": sftp_conn,
        "mp_dealer_sftp": sftp_conn,
    }.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    settings = get_settings()
    try:
        yield Remote(settings, config, api, sftp, root, simulated, creds)
    finally:
        api.stop()
        sftp.stop()


def simulated_files(simulated: Path, folder: str) -> dict[str, bytes]:
    """The simulator's exports of one folder (its junk files left out)."""
    from matrix_pulse.ingest.discovery import classify, sources_by_folder

    ext = sources_by_folder()[folder][0].fmt
    return {
        p.name: p.read_bytes()
        for p in sorted((simulated / folder).iterdir())
        if classify(folder, p.name, ext)[0]
    }


def landed_files(settings: Settings, folder: str) -> dict[str, bytes]:
    d = settings.landing_dir / folder
    return {p.name: p.read_bytes() for p in sorted(d.glob(f"{folder}_*"))} if d.is_dir() else {}


def is_valid_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)


def load_ledger_statuses(settings: Settings, file_name: str) -> list[str]:
    """The loader's side of the seam: what meta.load_ledger says about one landed file name."""
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT status FROM meta.load_ledger WHERE file_name LIKE ? ORDER BY first_seen_at",
                [f"%{file_name}"],
            ).fetchall()
        ]
    finally:
        con.close()
