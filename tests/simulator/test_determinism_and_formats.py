"""Same seed, same bytes; and every source in exactly the format the contract describes."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import python_calamine
from matrix_pulse.simulator import simulate
from matrix_pulse.sources import SOURCES, landing_folder


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path):
    kwargs = {
        "scale": "demo",
        "start": date(2026, 7, 30),
        "end": date(2026, 8, 2),
        "seed": 3,
        "mess_rate": 0.1,
    }
    simulate(tmp_path / "a", **kwargs)
    simulate(tmp_path / "b", **kwargs)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert first == second and len(first) > 40
    simulate(tmp_path / "c", **{**kwargs, "seed": 4})
    assert _digests(tmp_path / "c") != first


def _one(root: Path, manifest: dict, folder: str) -> Path:
    entry = next(e for e in manifest["files"] if e["source"] == folder and e["final"])
    return root / entry["path"]


def test_layout_names_every_file_after_folder_and_date(clean_run):
    root, manifest = clean_run
    for entry in manifest["files"]:
        folder, name = entry["path"].split("/")
        source = next(s for s in SOURCES.values() if landing_folder(s) == folder)
        assert name == f"{folder}_{entry['data_date'].replace('-', '')}.{source.fmt}"
    reference = {landing_folder(s) for s in SOURCES.values() if s.group == "reference"}
    daily = {e["source"] for e in manifest["files"] if e["data_date"] == "2026-07-05"} - reference
    assert daily == {landing_folder(s) for s in SOURCES.values() if s.group != "reference"}


def test_douyin_xlsx_has_title_line_then_header(clean_run):
    root, manifest = clean_run
    workbook = python_calamine.CalamineWorkbook.from_path(str(_one(root, manifest, "douyin_posts")))
    assert workbook.sheet_names == ["作品数据"]
    rows = workbook.get_sheet_by_name("作品数据").to_python(skip_empty_area=False)
    assert rows[0][0] == "抖音矩阵作品数据 2026-07-01"
    assert rows[1] == [c.source_name for c in SOURCES["douyin_posts"].columns]


def test_xiaohongshu_and_roster_xlsx_have_header_on_row_one(clean_run):
    root, manifest = clean_run
    for folder in ("xiaohongshu_notes", "matrix_roster"):
        workbook = python_calamine.CalamineWorkbook.from_path(str(_one(root, manifest, folder)))
        rows = workbook.get_sheet_by_index(0).to_python()
        assert rows[0] == [c.source_name for c in SOURCES[folder].columns]


def test_csv_encodings(clean_run):
    root, manifest = clean_run
    for folder in ("kuaishou_posts", "crm_dcc"):
        data = _one(root, manifest, folder).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert not data.decode("utf-8-sig").startswith("\ufeff")
    for folder in ("weibo_posts", "crm_legacy"):
        data = _one(root, manifest, folder).read_bytes()
        text = data.decode("gb18030")
        assert text.split("\r\n")[0].split(",") == [c.source_name for c in SOURCES[folder].columns]
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise AssertionError(f"{folder} decodes as UTF-8: not a GB18030 export")
    for folder in ("live_sessions", "dealers", "campaigns", "creator_costs"):
        data = _one(root, manifest, folder).read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        assert data.decode("utf-8").splitlines()[0].split(",") == [
            c.source_name for c in SOURCES[folder].columns
        ]


def test_csv_headers_in_contract_order(clean_run):
    root, manifest = clean_run
    for folder in ("kuaishou_posts", "crm_dcc"):
        header = _one(root, manifest, folder).read_bytes().decode("utf-8-sig").splitlines()[0].split(",")
        assert header == [c.source_name for c in SOURCES[folder].columns]


def test_json_shapes(clean_run):
    root, manifest = clean_run
    videos = json.loads(_one(root, manifest, "bilibili_videos").read_bytes())
    assert isinstance(videos, list) and videos
    assert set(videos[0]) == {"bvid", "mid", "title", "pubdate", "duration", "stat"}
    assert set(videos[0]["stat"]) == {"view", "danmaku", "reply", "favorite", "coin", "share", "like"}
    oa = json.loads(_one(root, manifest, "wechat_oa").read_bytes())
    assert set(oa) == {"articles", "users"} and oa["users"][0]["account_id"].startswith("gh_")
    assert set(oa["articles"][0]) == {c.source_name for c in SOURCES["wechat_oa_articles"].columns}
    channels = json.loads(_one(root, manifest, "wechat_channels").read_bytes())
    assert set(channels) == {"posts", "lives"}
    assert set(channels["lives"][0]) == {c.source_name for c in SOURCES["wechat_channels_lives"].columns}


def test_realistic_values(clean_run):
    root, manifest = clean_run
    import csv
    import io

    text = _one(root, manifest, "crm_dcc").read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(len(r["Phone"]) == 11 and r["Phone"].startswith("1") for r in rows)
    assert all("\u4e00" <= r["CustomerName"][0] <= "\u9fff" for r in rows)
    live_ids = set()
    for entry in manifest["files"]:
        if entry["source"] == "live_sessions":
            live_text = (root / entry["path"]).read_text(encoding="utf-8")
            live_ids |= {r["直播间ID"] for r in csv.DictReader(io.StringIO(live_text))}
    from_live = 0
    for entry in manifest["files"]:
        if entry["source"] == "crm_dcc":
            text = (root / entry["path"]).read_bytes().decode("utf-8-sig")
            from_live += sum(r["SourceContentId"] in live_ids for r in csv.DictReader(io.StringIO(text)))
    assert from_live > 0, "no lead points at a live room"
