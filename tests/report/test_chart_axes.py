"""Every number axis of the pack's charts speaks the pack's number format (万/亿, %), never
matplotlib's default: a national pack once printed 0 … 500000 under 各平台有效线索 beside an
axis in 万."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report import charts
from matrix_pulse.report.audiences import load_config
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter


@pytest.fixture(scope="module")
def drawn(fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    """Each audience's charts drawn for real; the figures kept after _save so their axes can be read."""
    figures = []
    real_save = charts._save

    def keep(fig, path):
        figures.append((path.name, fig))
        return real_save(fig, path)

    cfg = load_config()
    mp = pytest.MonkeyPatch()
    mp.setattr(charts, "_save", keep)
    try:
        with duckdb.connect(str(fixture_db), read_only=True) as con:
            national = next(a for a in cfg.audiences if a.is_national)
            regional = next(a for a in cfg.audiences if not a.is_national)
            for audience in (national, regional):
                pack = build_pack(con, Quarter.parse("2026Q3"), audience, cfg.gate, cfg.pack)
                charts.render_charts(pack, tmp_path_factory.mktemp(audience.id))
    finally:
        mp.undo()
    return figures


def test_every_number_axis_uses_the_packs_format(drawn) -> None:
    from matplotlib.ticker import ScalarFormatter

    names = {name for name, _ in drawn}
    assert {"platforms.png", "dealers.png", "regions.png"} <= names
    unformatted = []
    for name, fig in drawn:
        for i, ax in enumerate(fig.axes):
            for axis in (ax.xaxis, ax.yaxis):
                labelled = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
                if (
                    len(axis.get_ticklocs())
                    and labelled
                    and isinstance(axis.get_major_formatter(), ScalarFormatter)
                ):
                    unformatted.append(
                        f"{name} axes {i} {axis.axis_name}: {[t.get_text() for t in labelled]}"
                    )
    assert not unformatted, unformatted


def test_the_count_axis_prints_wan() -> None:
    plt = charts._setup()
    fig, ax = plt.subplots()
    ax.barh(["抖音", "快手"], [120_000, 480_000])
    charts._wan_axis(ax, "x")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.xaxis.get_ticklabels() if t.get_text()]
    plt.close(fig)
    assert any(label.endswith("万") for label in labels), labels
    assert not any(
        label.replace(",", "").isdigit() and len(label.replace(",", "")) > 4 for label in labels
    ), labels
