"""Content length against interaction: the quarter's content by title length band.

The title (标题 / 笔记标题 / 作品名称 / desc) is the one length every platform's export carries
(video duration only comes from Bilibili), and it is what a reader of a feed sees before
deciding to engage. Bands are in characters (a Chinese character counts one), their upper
bounds come from config/advice.yaml. Like the content-type table, figures come from the daily
facts (each day in the region its account had that day), so the bands add up to the headline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrix_pulse.report.model import Column

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from matrix_pulse.report.quarters import Quarter

COLUMNS = [
    Column("title_band", "标题字数"),
    Column("items", "内容数", "count"),
    Column("views", "播放/阅读", "count"),
    Column("engagements", "互动量", "count"),
    Column("interaction_rate", "互动率", "pct"),
]


def band_labels(bounds: tuple[int, ...]) -> list[str]:
    """(15, 30) -> ['≤15 字', '16–30 字', '>30 字']; the last band is open."""
    labels, low = [], 0
    for high in bounds:
        labels.append(f"≤{high} 字" if low == 0 else f"{low + 1}–{high} 字")
        low = high
    return [*labels, f">{low} 字"]


def by_title_length(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None, bounds: tuple[int, ...]
) -> pd.DataFrame:
    """One row per band (all bands, empty ones with 0 items), in band order. The title comes
    from mart_content_top (one row per post and quarter); content without a title is its own
    band 无标题 so the table adds up."""
    labels = band_labels(bounds)
    cases = " ".join(
        f"when length(d.title) <= {int(b)} then '{label}'" for b, label in zip(bounds, labels, strict=False)
    )
    clause, params = (" and f.region = ?", [region]) if region else ("", [])
    order = [*labels, "无标题"]
    return con.execute(
        f"""with c as (
              select case when d.title is null or d.title = '' then '无标题' {cases} else '{labels[-1]}' end as title_band,
                     count(distinct f.platform || ':' || f.post_id) as items, sum(f.views) as views,
                     sum(f.engagements) as engagements
              from marts.fct_content_daily f
              left join (select distinct platform, post_id, title from marts.mart_content_top) d using (platform, post_id)
              where f.date_day between ? and ?{clause} group by 1)
            select b.title_band, coalesce(c.items, 0) as items, coalesce(c.views, 0) as views,
                   coalesce(c.engagements, 0) as engagements, c.engagements / nullif(c.views, 0) as interaction_rate
            from (select unnest(?::varchar[]) as title_band) b left join c using (title_band)
            where b.title_band <> '无标题' or c.items > 0
            order by list_position(?::varchar[], b.title_band)""",
        [quarter.start, quarter.end, *params, order, order],
    ).df()
