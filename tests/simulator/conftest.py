"""Simulated landings shared by the simulator tests (generated once per session)."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from matrix_pulse.simulator import simulate


def _run(root: Path, **kwargs) -> tuple[Path, dict, float]:
    began = time.perf_counter()
    simulate(root, **kwargs)
    elapsed = time.perf_counter() - began
    return root, json.loads((root / "_manifest.json").read_text(encoding="utf-8")), elapsed


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Ten demo days with no mess at all."""
    root, manifest, _ = _run(
        tmp_path_factory.mktemp("clean"),
        scale="demo",
        start=date(2026, 7, 1),
        end=date(2026, 7, 10),
        seed=7,
        mess_rate=0.0,
    )
    return root, manifest


@pytest.fixture(scope="session")
def messy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Three demo weeks at a high mess rate: every kind shows up in a short range."""
    root, manifest, _ = _run(
        tmp_path_factory.mktemp("messy"),
        scale="demo",
        start=date(2026, 7, 1),
        end=date(2026, 7, 21),
        seed=11,
        mess_rate=0.08,
    )
    return root, manifest


@pytest.fixture(scope="session")
def demo_quarter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, float]:
    """The full demo quarter at the default mess rate (the CLI defaults)."""
    return _run(
        tmp_path_factory.mktemp("quarter"),
        scale="demo",
        start=date(2026, 7, 1),
        end=date(2026, 9, 30),
        seed=7,
        mess_rate=0.02,
    )
