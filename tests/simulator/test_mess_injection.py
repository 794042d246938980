"""Every kind in MESS_KINDS is injected, and the demo quarter is generated fast enough to iterate on."""

from __future__ import annotations

from collections import Counter

import pytest
from matrix_pulse.sources import MESS_KINDS


def _kinds(manifest: dict) -> Counter:
    seen: Counter = Counter()
    for entry in manifest["files"]:
        seen.update(entry["file_defects"])
        seen.update(entry["row_defects"])
    seen["missing_file"] += len(manifest["missing"])
    seen["junk_in_folder"] += len(manifest["junk"])
    return seen


def test_every_mess_kind_at_a_high_rate_over_three_weeks(messy_run):
    _, manifest = messy_run
    seen = _kinds(manifest)
    assert set(MESS_KINDS) - set(seen) == set(), f"never injected: {set(MESS_KINDS) - set(seen)}"


def test_mess_rate_zero_is_perfectly_clean(clean_run):
    _, manifest = clean_run
    assert sum(_kinds(manifest).values()) == 0


@pytest.mark.slow
def test_demo_quarter_at_default_rate_has_every_kind(demo_quarter):
    root, manifest, elapsed = demo_quarter
    seen = _kinds(manifest)
    assert set(MESS_KINDS) - set(seen) == set(), f"never injected: {set(MESS_KINDS) - set(seen)}"
    rows = sum(e["rows_read"] for e in manifest["files"])
    # timing is reported, not asserted: shared CI machines vary too much
    print(f"\ndemo quarter: {len(manifest['files'])} files, {rows} rows, {elapsed:.1f}s")


@pytest.mark.slow
def test_demo_quarter_late_and_rejected_files_are_described(demo_quarter):
    _, manifest, _ = demo_quarter
    late = [e for e in manifest["files"] if "late_file" in e["file_defects"]]
    assert late and all(e["landed_on"] > e["data_date"] for e in late)
    for entry in manifest["files"]:
        if entry["rejected"]:
            assert entry["reject_reason"] and all(t["rows_loaded"] == 0 for t in entry["tables"].values())
            assert entry["rows_set_aside"] == []
