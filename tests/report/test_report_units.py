"""Fast checks of the pieces: quarters, number formats, audiences, quarter planning, fonts."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from matrix_pulse.report import fmt
from matrix_pulse.report.audiences import load_config
from matrix_pulse.report.flow import plan_quarters
from matrix_pulse.report.ledger import message_id
from matrix_pulse.report.quarters import Quarter, quarter_just_ended


def test_quarter_arithmetic() -> None:
    q = Quarter.parse("2026q3")
    assert (q.label, q.start, q.end) == ("2026Q3", date(2026, 7, 1), date(2026, 9, 30))
    assert q.previous().label == "2026Q2" and q.year_ago().label == "2025Q3"
    assert Quarter.parse("2026Q1").previous().label == "2025Q4"
    assert quarter_just_ended(datetime(2027, 1, 5, 9)).label == "2026Q4"
    with pytest.raises(ValueError, match="2026Q3"):
        Quarter.parse("2026-09")


def test_number_formats() -> None:
    assert fmt.count(1_234) == "1,234"
    assert fmt.count(1_131_000) == "113万"
    assert fmt.count(234_500_000) == "2.35亿"
    assert fmt.pct(0.0594) == "5.9%"
    assert fmt.yuan(0.776) == "¥0.78" and fmt.yuan(74_794) == "¥7.48万"
    assert fmt.minutes(45) == "45 分钟" and fmt.minutes(90) == "1.5 小时"
    assert fmt.count(None) == fmt.DASH
    # Rates change in percentage points; a shorter response time is good news (green).
    assert fmt.change(0.062, 0.059, "pct") == ("▲ 0.3 个百分点", fmt.GOOD)
    assert fmt.change(80, 100, "minutes", better="down") == ("▼ 20.0%", fmt.GOOD)
    assert fmt.change(80, 100, "count") == ("▼ 20.0%", fmt.BAD)


def test_repo_audiences_file_is_valid() -> None:
    cfg = load_config()
    regions = {a.region for a in cfg.audiences if not a.is_national}
    assert {"华东", "华南", "华北", "华中", "西南", "西北", "东北"} == regions
    assert any(a.is_national for a in cfg.audiences)
    assert all(r.endswith("@example.com") for a in cfg.audiences for r in a.recipients)
    assert cfg.pack.creator_rows_in_pdf >= 1


def test_creator_rows_in_pdf_is_read_and_checked(tmp_path) -> None:
    base = "audiences:\n  - {id: hq, name: HQ, scope: national, recipients: [a@example.com]}\n"
    path = tmp_path / "audiences.yaml"
    path.write_text(base, encoding="utf-8")
    assert load_config(path).pack.creator_rows_in_pdf == 30  # the default when the file says nothing
    path.write_text(base + "pack: {creator_rows_in_pdf: 12}\n", encoding="utf-8")
    assert load_config(path).pack.creator_rows_in_pdf == 12
    for bad in ("0", "ten", "2.5"):
        path.write_text(base + f"pack: {{creator_rows_in_pdf: {bad}}}\n", encoding="utf-8")
        with pytest.raises(ValueError, match="creator_rows_in_pdf"):
            load_config(path)


def test_plan_quarters() -> None:
    today = date(2026, 10, 5)
    assert plan_quarters("2025Q4", None, []) == ["2025Q4"]
    assert plan_quarters(None, datetime(2026, 10, 5, 9), [], today) == ["2026Q3"]
    # Asset event naming quarters: only ended ones are reported (never a quarter in progress).
    assert plan_quarters(None, None, [{"quarters": ["2026Q3", "2026Q4"]}], today) == ["2026Q3"]


def test_message_id_is_deterministic_per_issue() -> None:
    a = message_id("2026Q3", "hq", "cmo@example.com", 1)
    assert a == message_id("2026Q3", "hq", "CMO@example.com", 1)
    assert a != message_id("2026Q3", "hq", "cmo@example.com", 2)
    assert a.startswith("<") and a.endswith("@matrix-pulse.example.com>")


def test_cjk_font_is_found() -> None:
    from matrix_pulse.report.fonts import find_cjk_font

    font = find_cjk_font()
    assert "CJK" in font.family or "SC" in font.family
    assert font.path.exists()


def test_unknown_values_are_blank_not_zero_or_a_crash() -> None:
    """A week with no dealer follow-up yields NaT/NA cells: the XLSX and the text show them as unknown."""
    import pandas as pd
    from matrix_pulse.report.render import _xlsx_value

    for unknown in (None, float("nan"), pd.NaT, pd.NA):
        assert fmt.count(unknown) == fmt.DASH
        assert _xlsx_value(unknown, "datetime") is None
    # a real Excel date/time, not text
    assert _xlsx_value(pd.Timestamp("2026-07-01 10:00"), "datetime") == datetime(2026, 7, 1, 10, 0)
    assert _xlsx_value(pd.Timestamp("2026-07-01"), "date") == date(2026, 7, 1)


def test_a_chart_is_drawn_once_and_looks_like_a_plain_savefig(tmp_path, monkeypatch) -> None:
    """charts._save skips the extra draw savefig makes for a figure that still has a layout
    engine: one draw per chart, and the PNG equals what tight_layout + savefig gave before."""
    from matplotlib.figure import Figure
    from matrix_pulse.report import charts
    from PIL import Image, ImageChops

    plt = charts._setup()

    def figure():
        fig, ax = plt.subplots(figsize=(charts.WIDTH_IN, 2.0))
        ax.barh(["官方", "经销商", "员工"], [3_000_000, 5_200_000, 800_000], color=charts.NAVY)
        charts._wan_axis(ax, "x")
        ax.set_title("各层级曝光")
        return fig

    ref = figure()
    ref.tight_layout()
    ref.savefig(tmp_path / "ref.png", dpi=charts.DPI, facecolor="white")
    plt.close(ref)

    draws = []
    real_draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: draws.append(1) or real_draw(self, renderer))
    charts._save(figure(), tmp_path / "ours.png")
    assert len(draws) == 1
    ours, before = Image.open(tmp_path / "ours.png"), Image.open(tmp_path / "ref.png")
    assert ours.size == before.size
    assert ImageChops.difference(ours.convert("RGB"), before.convert("RGB")).getbbox() is None
