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
from matrix_pulse.report.queries_base import quarter_relation, shared_per_connection
from matrix_pulse.report.queries_content import content_posts

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


def titled_content_posts(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> str:
    """The quarter's content per post and region (queries_content.content_posts) with its title from
    mart_content_top (a post titled differently in two quarters has a row for each title)."""
    return quarter_relation(
        con, "titled_content_posts", quarter,
        f"""select f.region, f.platform, f.post_id, f.views, f.engagements, d.title
            from {content_posts(con, quarter)} f
            left join (select distinct platform, post_id, title from marts.mart_content_top) d using (platform, post_id)""",
    )  # fmt: skip


@shared_per_connection
def by_title_length(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None, bounds: tuple[int, ...]
) -> pd.DataFrame:
    """One row per band (all bands, empty ones with 0 items), in band order. The title comes
    from mart_content_top (one row per post and quarter); content without a title is its own
    band 无标题 so the table adds up."""
    labels = band_labels(bounds)
    cases = " ".join(
        f"when length(title) <= {int(b)} then '{label}'" for b, label in zip(bounds, labels, strict=False)
    )
    clause, params = (" and region = ?", [region]) if region else ("", [])
    order = [*labels, "无标题"]
    return con.execute(
        f"""with c as (
              select case when title is null or title = '' then '无标题' {cases} else '{labels[-1]}' end as title_band,
                     count(distinct platform || ':' || post_id) as items, sum(views) as views,
                     sum(engagements) as engagements
              from {titled_content_posts(con, quarter)} where true{clause} group by 1)
            select b.title_band, coalesce(c.items, 0) as items, coalesce(c.views, 0) as views,
                   coalesce(c.engagements, 0) as engagements, c.engagements / nullif(c.views, 0) as interaction_rate
            from (select unnest(?::varchar[]) as title_band) b left join c using (title_band)
            where b.title_band <> '无标题' or c.items > 0
            order by list_position(?::varchar[], b.title_band)""",
        [*params, order, order],
    ).df()
