"""The pack's charts as PNG files (matplotlib, Agg), Chinese labels in the CJK font.

One visual language for all charts: brand navy for the quarter being reviewed, a light
tint for comparison periods, no chart junk (top/right spines, heavy grids), values
written on the bars in the pack's own number format (万, %).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from matrix_pulse.report import fmt
from matrix_pulse.report.fonts import configure_matplotlib

if TYPE_CHECKING:
    from matrix_pulse.report.pack import QuarterPack

NAVY = "#1f3a5f"
TINT = "#b8c7dc"
ACCENT = "#e07a1f"
GREY = "#6b7280"
RED = fmt.BAD
TIER_ORDER = ("官方", "经销商", "KOL", "KOC", "高管", "员工", "未登记", "未归属")
WIDTH_IN = 7.2  # 600 px in the mail at 2x density; half an A4 text width in the PDF
DPI = 170


def _setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configure_matplotlib()
    plt.rcParams.update({
        "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#9ca3af",
        "axes.titlesize": 12, "axes.titleweight": "bold", "axes.titlelocation": "left", "axes.titlepad": 10,
        "axes.labelcolor": GREY, "xtick.color": "#374151", "ytick.color": "#374151", "font.size": 9.5,
        "axes.grid": True, "grid.color": "#e5e7eb", "grid.linewidth": 0.6, "axes.axisbelow": True,
    })  # fmt: skip
    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    # tight_layout leaves a do-nothing placeholder layout engine on the figure, and savefig
    # draws the whole figure once more (text layout and all) only to run that engine (~15 %
    # of the charts' time, for nothing). The layout is final here, so drop the engine.
    fig.set_layout_engine(None)
    fig.savefig(path, dpi=DPI, facecolor="white")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _wan_axis(ax, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda v, _pos: fmt.count(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def trend_chart(pack: QuarterPack, path: Path) -> Path:
    """Six months of exposure (bars) and valid leads (line). A month the marts do not cover
    is NaN: no bar, a break in the line, never a 0; a series with no data at all is neither
    drawn nor named in the legend."""
    plt = _setup()
    df = pack.tables["monthly_trend"].df
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.1))
    x = list(range(len(df)))
    colors = [TINT] * 3 + [NAVY] * 3
    if df["exposure"].notna().any():
        ax.bar(x, df["exposure"].fillna(0).where(df["exposure"].notna()), color=colors, width=0.6,
               label="曝光（左轴）")  # fmt: skip
    for i, v in enumerate(df["exposure"]):
        if fmt.is_missing(v):
            ax.text(i, 0, "无数据", ha="center", va="bottom", fontsize=8, color=GREY)
    ax.set_xticks(x, list(df["month"]))
    ax.set_xlim(-0.5, len(df) - 0.5)  # every month keeps its slot, a month without data stays an empty one
    _wan_axis(ax)
    ax.set_title(f"月度曝光与有效线索（{pack.quarter.previous().label} → {pack.quarter.label}）")
    ax2 = ax.twinx()
    if df["valid_leads"].notna().any():
        ax2.plot(x, df["valid_leads"], color=ACCENT, marker="o", lw=2.2, label="有效线索（右轴）")
    if df["valid_leads_year_ago"].notna().any():
        ax2.plot(x, df["valid_leads_year_ago"], color=ACCENT, ls="--", lw=1.2, alpha=0.7,
                 marker="o", ms=3, label="去年同月有效线索")  # fmt: skip
    for xi, y in zip(x, df["valid_leads"], strict=True):
        if fmt.is_missing(y):
            continue
        ax2.annotate(fmt.count(y), (xi, y), textcoords="offset points", xytext=(0, 7), ha="center",
                     color=ACCENT, fontsize=8.5, fontweight="bold",
                     bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})  # fmt: skip
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    top_leads = df[["valid_leads", "valid_leads_year_ago"]].max().max()
    ax2.set_ylim(0, max(1, 0 if fmt.is_missing(top_leads) else top_leads) * 1.3)
    _wan_axis(ax2)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    if h1 + h2:
        ax.legend(h1 + h2, l1 + l2, loc="upper left", frameon=False, fontsize=8, ncol=3)
    top_exp = df["exposure"].max()
    ax.set_ylim(0, max(1, 0 if fmt.is_missing(top_exp) else top_exp) * 1.3)
    return _save(fig, path)


def matrix_chart(pack: QuarterPack, path: Path) -> Path:
    plt = _setup()
    df = pack.tables["matrix"].df.fillna({"exposure": 0})
    # 未登记 / 未归属 have no content when every account is on the roster: no empty bar for them
    df = df[df["matrix_tier"].isin(TIER_ORDER[:6]) | (df["exposure"] > 0)]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(WIDTH_IN, 2.9), gridspec_kw={"width_ratios": [1.4, 1]})
    tiers = list(df["matrix_tier"])[::-1]
    ax.barh(tiers, list(df["exposure"])[::-1], color=NAVY, height=0.6)
    _wan_axis(ax, "x")
    ax.set_title("各层级曝光")
    ax.grid(axis="y", visible=False)
    empty = fmt.DASH if pack.audience.is_national else "— 归属总部"
    for y, v in enumerate(list(df["exposure"])[::-1]):
        # Regional packs have no 官方/KOL/KOC/高管 rows (those accounts belong to 总部): say so.
        ax.text(v, y, " " + (fmt.count(v) if v else empty), va="center", fontsize=8.5,
                color="#111827" if v else GREY)  # fmt: skip
    ax.set_xlim(0, max(1, df["exposure"].max()) * 1.25)
    rates = list(df["interaction_rate"].fillna(0))[::-1]
    ax2.barh(tiers, rates, color=ACCENT, height=0.6)
    ax2.set_title("各层级互动率")
    ax2.grid(axis="y", visible=False)
    ax2.set_yticklabels([])
    ax2.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v * 100:.0f}%"))
    for y, v in enumerate(rates):
        if v:
            ax2.text(v, y, " " + fmt.pct(v), va="center", fontsize=8.5)
    ax2.set_xlim(0, max(0.01, max(rates)) * 1.35)
    return _save(fig, path)


def platform_chart(pack: QuarterPack, path: Path) -> Path:
    plt = _setup()
    df = pack.tables["platforms"].df.sort_values("exposure", ascending=True)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.0))
    ax.barh(df["platform_name_cn"], df["exposure"], color=NAVY, height=0.6)
    _wan_axis(ax, "x")
    ax.set_title("各平台曝光")
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, max(1, df["exposure"].max()) * 1.3)
    for y, v in enumerate(df["exposure"]):
        ax.text(v, y, " " + fmt.count(v), va="center", fontsize=8.5)
    ax2.barh(df["platform_name_cn"], df["valid_leads"], color=ACCENT, height=0.6)
    _wan_axis(ax2, "x")
    ax2.set_title("各平台有效线索")
    ax2.grid(axis="y", visible=False)
    ax2.set_yticklabels([])
    ax2.set_xlim(0, max(1, df["valid_leads"].max()) * 1.35)
    for y, v in enumerate(df["valid_leads"]):
        ax2.text(v, y, " " + fmt.count(v), va="center", fontsize=8.5)
    return _save(fig, path)


def funnel_chart(pack: QuarterPack, path: Path) -> Path:
    plt = _setup()
    f = pack.funnel
    stages = [("线索", f["leads"]), ("有效线索", f["valid_leads"]), ("到店", f["arrivals"]),
              ("试驾", f["test_drives"]), ("下订", f["orders"]), ("交车", f["deliveries"])]  # fmt: skip
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.6))
    top = max(1, stages[0][1] or 0)
    labels = [s[0] for s in stages]
    values = [s[1] or 0 for s in stages]
    ax.barh(labels, values, color=[TINT] + [NAVY] * 5, height=0.64)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.45)
    ax.grid(False)
    ax.spines["bottom"].set_visible(False)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0, labelsize=10)
    for i, n in enumerate(values):
        rate = "" if i < 2 else f"   占有效线索 {fmt.pct(n / f['valid_leads'] if f['valid_leads'] else None)}"
        ax.text(n, i, f"  {fmt.count(n)}{rate}", va="center", fontsize=9, color="#111827")
    ax.set_title("线索漏斗（本季度创建的线索）")
    return _save(fig, path)


def dealer_chart(pack: QuarterPack, path: Path) -> Path:
    plt = _setup()
    sc = pack.tables["dealer_scorecard"].df.sort_values("valid_leads", ascending=False).head(10)[::-1]
    laggards = set(pack.tables["follow_up_laggards"].df["dealer_name"])
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.32 * len(sc) + 1.0))
    colors = [RED if n in laggards else NAVY for n in sc["dealer_name"]]
    ax.barh(sc["dealer_name"], sc["valid_leads"], color=colors, height=0.62)
    _wan_axis(ax, "x")
    rule = pack.tables["follow_up_laggards"].title.removesuffix("的经销商")
    ax.set_title(f"经销商有效线索 Top 10（红色 = {rule}）")
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, max(1, sc["valid_leads"].max() if len(sc) else 1) * 1.3)
    for y, (v, r) in enumerate(zip(sc["valid_leads"], sc["follow_up_24h_rate"], strict=True)):
        ax.text(v, y, f" {fmt.count(v)} · 24h {fmt.pct(r)}", va="center", fontsize=8.5)
    return _save(fig, path)


def region_chart(pack: QuarterPack, path: Path) -> Path:
    """HQ pack: the seven regions' valid leads and their arrival / order rates against the network's."""
    plt = _setup()
    df = pack.tables["region_comparison"].df
    df = df[df["valid_leads"] > 0].iloc[::-1]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(WIDTH_IN, 0.34 * max(len(df), 3) + 1.2))
    ax.barh(df["region"], df["valid_leads"], color=NAVY, height=0.6)
    _wan_axis(ax, "x")
    ax.set_title("各大区有效线索")
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, max(1, df["valid_leads"].max() if len(df) else 1) * 1.3)
    for y, v in enumerate(df["valid_leads"]):
        ax.text(v, y, " " + fmt.count(v), va="center", fontsize=8.5)
    ys = range(len(df))
    ax2.barh([y + 0.18 for y in ys], df["arrival_rate"].fillna(0), height=0.36, color=TINT, label="到店率")
    ax2.barh(
        [y - 0.18 for y in ys], df["order_rate"].fillna(0), height=0.36, color=ACCENT, label="订单转化率"
    )
    f = pack.funnel
    for rate, color in ((f.get("arrival_rate"), GREY), (f.get("order_rate"), ACCENT)):
        if not fmt.is_missing(rate):
            ax2.axvline(rate, color=color, lw=1, ls="--")
    # each row names its region and its rates: a reader should not have to match bars across panels
    ax2.set_yticks(list(ys), list(df["region"]))
    for y, (arr, order) in enumerate(zip(df["arrival_rate"], df["order_rate"], strict=True)):
        for dy, rate in ((0.18, arr), (-0.18, order)):
            if not fmt.is_missing(rate):
                ax2.text(rate, y + dy, f" {rate:.1%}", va="center", fontsize=7)
    ax2.set_xlim(0, max(0.01, df[["arrival_rate", "order_rate"]].max().max() if len(df) else 0.01) * 1.25)
    ax2.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v * 100:.0f}%"))
    ax2.set_title("到店率 / 订单转化率（虚线 = 全国）")
    ax2.grid(axis="y", visible=False)
    ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False, fontsize=8, ncol=2)
    return _save(fig, path)


CHARTS = {
    "trend": trend_chart,
    "matrix": matrix_chart,
    "platforms": platform_chart,
    "funnel": funnel_chart,
    "dealers": dealer_chart,
}


def render_charts(pack: QuarterPack, out_dir: Path) -> dict[str, Path]:
    """Every chart of the pack as ``<out_dir>/<name>.png``; returns name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = {name: draw(pack, out_dir / f"{name}.png") for name, draw in CHARTS.items()}
    if "region_comparison" in pack.tables:  # the HQ pack only
        charts["regions"] = region_chart(pack, out_dir / "regions.png")
    return charts
