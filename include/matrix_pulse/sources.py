"""The input contract (shared/contracts/sources.md) as data: every source, declared once.

This registry is the single description of every source that the simulator writes, the
ingest parses, and dbt declares as sources (its DDL, sources yml and platform seed are
generated from it: ``python -m matrix_pulse.transform.raw_layer``). Each column maps the
export's own header to the raw table's English column; the kinds, platforms, codes and the
raw-column rules are defined in ``matrix_pulse.contract``.
"""

from __future__ import annotations

from matrix_pulse.contract import (
    DCC_STATUS,
    KIND_TYPES,
    LEGACY_STATUS,
    LINEAGE_COLUMNS,
    MATRIX_GROUPS,
    MATRIX_TIERS,
    MESS_KINDS,
    PLATFORM_LIST,
    PLATFORMS,
    REVIEW_STATUS,
    Column,
    Platform,
    RawColumn,
    Source,
    raw_columns,
)
from matrix_pulse.sources_wecom import WECOM_SOURCES

__all__ = [
    "DCC_STATUS", "KIND_TYPES", "LANDING_FOLDERS", "LEGACY_STATUS", "LINEAGE_COLUMNS", "MATRIX_GROUPS", "MATRIX_TIERS",
    "MESS_KINDS", "PLATFORMS", "PLATFORM_LIST", "REVIEW_STATUS", "SOURCES", "Column", "Platform",
    "RawColumn", "Source", "landing_folder", "raw_columns",
]  # fmt: skip

C = Column

SOURCES: dict[str, Source] = {}


def _add(src: Source) -> None:
    SOURCES[src.name] = src


_add(
    Source(
        name="douyin_posts",
        fmt="xlsx",
        encoding=None,
        raw_table="douyin_posts",
        group="content",
        staging_group="douyin",
        platform="douyin",
        sheet="作品数据",
        header_row=2,
        key=("post_id",),
        notes="Row 1 is a title line; may end with a 合计 row. Counters cumulative.",
        columns=(
            C("账号ID", "account_id", "id"),
            C("账号名称", "account_name", "text"),
            C("作品ID", "post_id", "id"),
            C("作品名称", "title", "text"),
            C("发布时间", "published_at", "time"),
            C("体裁", "content_type", "code"),
            C("审核状态", "review_status", "code"),
            C("播放量", "views", "count"),
            C("完播率", "completion_rate", "rate"),
            C("平均播放时长", "avg_watch_seconds", "duration"),
            C("点赞量", "likes", "count"),
            C("评论量", "comments", "count"),
            C("分享量", "shares", "count"),
            C("收藏量", "saves", "count"),
            C("主页访问量", "profile_visits", "count"),
            C("粉丝增量", "follower_gain", "count"),
        ),
    )
)
_add(
    Source(
        name="kuaishou_posts",
        fmt="csv",
        encoding="utf-8-sig",
        raw_table="kuaishou_posts",
        group="content",
        staging_group="kuaishou",
        platform="kuaishou",
        key=("post_id",),
        columns=(
            C("账号ID", "account_id", "id"),
            C("账号昵称", "account_name", "text"),
            C("作品ID", "post_id", "id"),
            C("作品描述", "title", "text"),
            C("发布时间", "published_at", "time"),
            C("作品类型", "content_type", "code"),
            C("播放数", "views", "count"),
            C("点赞数", "likes", "count"),
            C("评论数", "comments", "count"),
            C("分享数", "shares", "count"),
            C("收藏数", "saves", "count", required=False),
            C("涨粉数", "follower_gain", "count"),
        ),
    )
)
_add(
    Source(
        name="xiaohongshu_notes",
        fmt="xlsx",
        encoding=None,
        raw_table="xiaohongshu_notes",
        group="content",
        staging_group="xiaohongshu",
        platform="xiaohongshu",
        key=("post_id",),
        columns=(
            C("账号ID", "account_id", "id"),
            C("账号名称", "account_name", "text"),
            C("笔记ID", "post_id", "id"),
            C("笔记标题", "title", "text"),
            C("首次发布时间", "published_at", "time"),
            C("体裁", "content_type", "code"),
            C("曝光量", "impressions", "count"),
            C("观看量", "views", "count"),
            C("点赞", "likes", "count"),
            C("收藏", "saves", "count"),
            C("评论", "comments", "count"),
            C("分享", "shares", "count"),
            C("人均观看时长", "avg_watch_seconds", "duration"),
            C("涨粉", "follower_gain", "count"),
            C("封面点击率", "cover_ctr", "rate", required=False),
        ),
    )
)
_add(
    Source(
        name="weibo_posts",
        fmt="csv",
        encoding="gb18030",
        raw_table="weibo_posts",
        group="content",
        staging_group="weibo",
        platform="weibo",
        key=("post_id",),
        notes="阅读数 above 100k is written 10万+: a lower bound, kept flagged.",
        columns=(
            C("账号UID", "account_id", "id"),
            C("账号昵称", "account_name", "text"),
            C("微博ID", "post_id", "id"),
            C("发布时间", "published_at", "time"),
            C("微博内容", "title", "text"),
            C("阅读数", "views", "count_lb"),
            C("转发数", "shares", "count"),
            C("评论数", "comments", "count"),
            C("点赞数", "likes", "count"),
        ),
    )
)
_add(
    Source(
        name="bilibili_videos",
        fmt="json",
        encoding=None,
        raw_table="bilibili_videos",
        group="content",
        staging_group="bilibili",
        platform="bilibili",
        key=("post_id",),
        columns=(
            C("bvid", "post_id", "id"),
            C("mid", "account_id", "id"),
            C("title", "title", "text"),
            C("pubdate", "published_at", "unix"),
            C("duration", "duration_seconds", "duration"),
            C("stat.view", "views", "count"),
            C("stat.danmaku", "danmaku", "count"),
            C("stat.reply", "comments", "count"),
            C("stat.favorite", "saves", "count"),
            C("stat.coin", "coins", "count"),
            C("stat.share", "shares", "count"),
            C("stat.like", "likes", "count"),
        ),
    )
)
_add(
    Source(
        name="wechat_oa_articles",
        fmt="json",
        encoding=None,
        raw_table="wechat_oa_articles",
        group="content",
        staging_group="wechat",
        platform="wechat_oa",
        json_path="articles",
        key=("msgid",),
        notes="File wechat_oa_YYYYMMDD.json, key 'articles'. DAILY values, not cumulative.",
        extra={"file_prefix": "wechat_oa"},
        columns=(
            C("ref_date", "ref_date", "date"),
            C("account_id", "account_id", "id"),
            C("msgid", "msgid", "id"),
            C("title", "title", "text"),
            C("publish_time", "published_at", "unix"),
            C("read_user", "read_user", "count"),
            C("read_count", "views", "count"),
            C("share_user", "shares", "count"),
            C("like_user", "likes", "count"),
            C("zaikan_user", "zaikan", "count"),
            C("comment_count", "comments", "count"),
            C("add_to_fav_user", "saves", "count"),
        ),
    )
)
_add(
    Source(
        name="wechat_oa_users",
        fmt="json",
        encoding=None,
        raw_table="wechat_oa_users",
        group="content",
        staging_group="wechat",
        platform="wechat_oa",
        json_path="users",
        key=("account_id",),
        notes="File wechat_oa_YYYYMMDD.json, key 'users'. Daily follower figures.",
        extra={"file_prefix": "wechat_oa"},
        columns=(
            C("ref_date", "ref_date", "date"),
            C("account_id", "account_id", "id"),
            C("new_user", "new_followers", "count"),
            C("cancel_user", "lost_followers", "count"),
            C("cumulate_user", "total_followers", "count"),
        ),
    )
)
_add(
    Source(
        name="wechat_channels_posts",
        fmt="json",
        encoding=None,
        raw_table="wechat_channels_posts",
        group="content",
        staging_group="wechat",
        platform="wechat_channels",
        json_path="posts",
        key=("post_id",),
        extra={"file_prefix": "wechat_channels"},
        columns=(
            C("export_id", "post_id", "id"),
            C("account_id", "account_id", "id"),
            C("desc", "title", "text"),
            C("create_time", "published_at", "unix"),
            C("read_count", "views", "count"),
            C("like_count", "likes", "count"),
            C("comment_count", "comments", "count"),
            C("forward_count", "shares", "count"),
            C("fav_count", "saves", "count"),
            C("follow_count", "follower_gain", "count"),
        ),
    )
)
_add(
    Source(
        name="wechat_channels_lives",
        fmt="json",
        encoding=None,
        raw_table="wechat_channels_lives",
        group="content",
        staging_group="wechat",
        platform="wechat_channels",
        json_path="lives",
        key=("live_id",),
        extra={"file_prefix": "wechat_channels"},
        columns=(
            C("export_id", "live_id", "id"),
            C("account_id", "account_id", "id"),
            C("live_start_time", "started_at", "unix"),
            C("live_duration_in_seconds", "duration_seconds", "duration"),
            C("total_audience_count", "viewers", "count"),
            C("max_online_count", "peak_online", "count"),
            C("audiences_avg_seconds", "avg_watch_seconds", "duration"),
            C("new_follow_count", "follower_gain", "count"),
            C("forward_count", "shares", "count"),
            C("total_comment_count", "comments", "count"),
            C("leads_count", "leads", "count"),
        ),
    )
)
_add(
    Source(
        name="live_sessions",
        fmt="csv",
        encoding="utf-8",
        raw_table="live_sessions",
        group="content",
        staging_group="live",
        key=("platform_name", "live_id"),
        notes="Douyin and Kuaishou live rooms that ended on D.",
        columns=(
            C("平台", "platform_name", "code"),
            C("账号ID", "account_id", "id"),
            C("直播间ID", "live_id", "id"),
            C("开播时间", "started_at", "time"),
            C("下播时间", "ended_at", "time"),
            C("观看人次", "views", "count"),
            C("观看人数", "viewers", "count"),
            C("最高在线", "peak_online", "count"),
            C("平均观看时长", "avg_watch_seconds", "duration"),
            C("评论数", "comments", "count"),
            C("点赞数", "likes", "count"),
            C("新增粉丝", "follower_gain", "count"),
            C("组件点击数", "component_clicks", "count"),
            C("留资数", "leads", "count"),
        ),
    )
)
_add(
    Source(
        name="crm_dcc",
        fmt="csv",
        encoding="utf-8-sig",
        raw_table="crm_dcc",
        group="crm",
        staging_group="crm",
        key=("clue_id", "updated_at"),
        notes="A lead reappears at every status change; latest UpdateTime is current.",
        columns=(
            C("ClueId", "clue_id", "id"),
            C("DealerId", "dealer_code", "id"),
            C("CustomerName", "customer_name", "pii_drop"),
            C("Phone", "phone", "phone"),
            C("SeriesCode", "series_code", "code"),
            C("ModelCode", "model_code", "code"),
            C("ChannelName", "channel_name", "text"),
            C("SourceAccountId", "source_account_id", "id"),
            C("SourceContentId", "source_content_id", "id"),
            C("CampaignCode", "campaign_code", "code"),
            C("CreateTime", "created_at", "time"),
            C("DistributeTime", "distributed_at", "time"),
            C("FirstFollowTime", "first_follow_at", "time"),
            C("ArrivalTime", "arrived_at", "time"),
            C("TestDriveTime", "test_drive_at", "time"),
            C("OrderTime", "ordered_at", "time"),
            C("DeliveryTime", "delivered_at", "time"),
            C("LeadStatus", "lead_status", "code"),
            C("DefeatReason", "defeat_reason", "text"),
            C("IsInvalid", "is_invalid", "code"),
            C("InvalidType", "invalid_type", "text"),
            C("UpdateTime", "updated_at", "time"),
        ),
    )
)
_add(
    Source(
        name="crm_legacy",
        fmt="csv",
        encoding="gb18030",
        raw_table="crm_legacy",
        group="crm",
        staging_group="crm",
        key=("clue_id", "updated_at"),
        columns=(
            C("线索编号", "clue_id", "id"),
            C("经销商代码", "dealer_code", "id"),
            C("客户姓名", "customer_name", "pii_drop"),
            C("手机号", "phone", "phone"),
            C("意向车型", "series_code", "code"),
            C("线索来源", "channel_name", "text"),
            C("来源账号", "source_account_id", "id"),
            C("来源内容", "source_content_id", "id"),
            C("活动编码", "campaign_code", "code"),
            C("创建时间", "created_at", "time"),
            C("首次跟进时间", "first_follow_at", "time"),
            C("到店时间", "arrived_at", "time"),
            C("试驾时间", "test_drive_at", "time"),
            C("下订时间", "ordered_at", "time"),
            C("交车时间", "delivered_at", "time"),
            C("线索状态", "lead_status", "code"),
            C("战败原因", "defeat_reason", "text"),
            C("更新时间", "updated_at", "time"),
        ),
    )
)
# WeCom (企业微信) private domain: one JSON object a day, four raw tables (sources_wecom.py).
for _src in WECOM_SOURCES:
    _add(_src)
_add(
    Source(
        name="matrix_roster",
        fmt="xlsx",
        encoding=None,
        raw_table="matrix_roster",
        group="reference",
        staging_group="reference",
        key=("platform_name", "account_id"),
        notes="Each delivery is a full version of the roster; every version stays in raw (one per "
        "data_date) and int_account_versions_derived derives the SCD2 history from them.",
        columns=(
            C("平台", "platform_name", "code"),
            C("账号ID", "account_id", "id"),
            C("账号名称", "account_name", "text"),
            C("矩阵层级", "matrix_tier", "code"),
            C("经销商代码", "dealer_code", "id", required=True),
            C("负责人", "owner_name", "pii_drop"),
            C("开通日期", "opened_on", "date"),
            C("状态", "account_status", "code"),
        ),
    )
)
_add(
    Source(
        name="dealers",
        fmt="csv",
        encoding="utf-8",
        raw_table="dealers",
        group="reference",
        staging_group="reference",
        key=("dealer_code",),
        columns=(
            C("经销商代码", "dealer_code", "id"),
            C("经销商名称", "dealer_name", "text"),
            C("集团", "dealer_group", "text"),
            C("省份", "province", "text"),
            C("城市", "city", "text"),
            C("城市级别", "city_tier", "code"),
            C("大区", "region", "code"),
        ),
    )
)
_add(
    Source(
        name="campaigns",
        fmt="csv",
        encoding="utf-8",
        raw_table="campaigns",
        group="reference",
        staging_group="reference",
        key=("campaign_code",),
        columns=(
            C("活动编码", "campaign_code", "code"),
            C("活动名称", "campaign_name", "text"),
            C("车系", "series_code", "code"),
            C("开始日期", "starts_on", "date"),
            C("结束日期", "ends_on", "date"),
            C("预算", "budget_yuan", "money"),
        ),
    )
)
_add(
    Source(
        name="creator_costs",
        fmt="csv",
        encoding="utf-8",
        raw_table="creator_costs",
        group="reference",
        staging_group="reference",
        key=("platform_name", "account_id", "campaign_code", "published_on"),
        columns=(
            C("平台", "platform_name", "code"),
            C("账号ID", "account_id", "id"),
            C("活动编码", "campaign_code", "code"),
            C("合作形式", "deal_type", "text"),
            C("合作费用", "cost_yuan", "money"),
            C("发布日期", "published_on", "date"),
        ),
    )
)


def landing_folder(source: Source) -> str:
    """Folder under landing/ (wechat_oa and wechat_channels each hold one JSON file that
    feeds two raw tables)."""
    return source.extra.get("file_prefix", source.name)


LANDING_FOLDERS: tuple[str, ...] = tuple(dict.fromkeys(landing_folder(s) for s in SOURCES.values()))
