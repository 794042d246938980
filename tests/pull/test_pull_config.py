"""config/pull.yaml: what a typo does, and what an unconfigured source does (nothing new)."""

from __future__ import annotations

from pathlib import Path

import pytest
from matrix_pulse.pull import run_pull
from matrix_pulse.pull.config import PullConfigError, load_pull_config
from matrix_pulse.settings import get_settings


def test_repo_config_names_every_transport_with_a_connection() -> None:
    config = load_pull_config()
    assert {s.transport for s in config.sources.values()} == {
        "wechat_oa",
        "wechat_channels",
        "bilibili",
        "sftp",
    }
    assert all(s.remote_dir for s in config.sources.values() if s.transport == "sftp")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "douyin_post: {transport: sftp, conn_id: c, remote_dir: x}",
            "sources.douyin_post: not a landing folder",
        ),
        ("douyin_posts: {transport: ftp, conn_id: c}", "sources.douyin_posts.transport: expected one of"),
        ("douyin_posts: {transport: sftp, conn_id: c}", "sources.douyin_posts.remote_dir: missing"),
        ("wechat_oa: {transport: wechat_oa}", "sources.wechat_oa.conn_id: missing"),
    ],
)
def test_a_typo_is_an_error_naming_file_and_key(tmp_path: Path, spec: str, message: str) -> None:
    path = tmp_path / "pull.yaml"
    path.write_text(f"sources:\n  {spec}\n", encoding="utf-8")
    with pytest.raises(PullConfigError) as err:
        load_pull_config(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_unconfigured_sources_keep_the_hand_filled_folder(mp_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "pull.yaml"
    path.write_text(
        "sources:\n  crm_dcc: {transport: none}\n  wechat_oa: {transport: wechat_oa, conn_id: mp_not_defined_here}\n",
        encoding="utf-8",
    )
    config = load_pull_config(path)
    assert list(config.sources) == ["wechat_oa"]
    settings = get_settings()
    dropped = settings.landing_dir / "crm_dcc" / "crm_dcc_20260701.csv"
    dropped.parent.mkdir(parents=True)
    dropped.write_bytes(b"by hand")
    summary = run_pull(settings, config)
    # No connection here: the source is reported as not pulled, no attempt is recorded, and the
    # file someone dropped by hand is left exactly as it was.
    assert summary.attempts == [] and "mp_not_defined_here" in summary.skipped["wechat_oa"]
    assert dropped.read_bytes() == b"by hand"
