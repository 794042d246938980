"""The input contract (shared/contracts/sources.md) as data.

This registry is the single description of every source that the simulator writes, the
ingest parses, and dbt declares as sources. Each column maps the export's own header to
the raw table's English column and says how its values are normalised:

kind        raw column(s)                         normalisation
----------  ------------------------------------  ---------------------------------------------
id          <name> VARCHAR                        trimmed; full-width digits folded
text        <name> VARCHAR                        trimmed
code        <name> VARCHAR                        trimmed; full-width folded (status codes, tiers)
count       <name> BIGINT                         1.2万 / 3.4w / 1,234 / - or empty -> NULL
count_lb    <name> BIGINT, <name>_is_lower_bound  as count; 10万+ -> 100000 flagged TRUE
rate        <name> DOUBLE                         23.5% / 0.235 / 23.5 -> 0.235
duration    <name> DOUBLE (seconds)               00:01:35 / 95 / 1分35秒 -> 95
time        <name> TIMESTAMP (Asia/Shanghai)      ISO, 2026/7/1 9:05, unix seconds, Excel serial
date        <name> DATE
money       <name> DOUBLE (yuan)
unix        <name> TIMESTAMP (Asia/Shanghai)      unix seconds from the JSON APIs
phone       phone_hash, phone_masked,             HMAC-SHA256 of the normalised 11-digit
            phone_is_valid                        number; 138****5678; junk -> hash NULL, FALSE
pii_drop    (none)                                customer names are dropped at load

Every raw table also carries: data_date DATE, source_file VARCHAR, file_sha256 VARCHAR,
source_row BIGINT (1-based data row in the file), loaded_at TIMESTAMP.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    source_name: str  # header as the export writes it (or JSON key path, '.'-separated)
    name: str  # raw table column
    kind: str
    required: bool = True


@dataclass(frozen=True)
class Source:
    name: str  # folder under landing/ and file prefix
    fmt: str  # xlsx | csv | json
    encoding: str | None  # csv only: utf-8, utf-8-sig, gb18030
    raw_table: str  # raw.<raw_table>
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # raw columns unique within one file
    group: str  # content | crm | reference
    platform: str | None = None  # platform code for single-platform sources
    sheet: str | None = None  # xlsx sheet name when fixed
    header_row: int = 1  # 1-based row of the header (douyin: 2, below a title line)
    json_path: str | None = None  # json: key of the array inside the object (None: top-level array)
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def file_glob(self) -> str:
        ext = {"xlsx": "xlsx", "csv": "csv", "json": "json"}[self.fmt]
        return f"{self.name}_????????.{ext}"

    @property
    def required_source_columns(self) -> list[str]:
        return [c.source_name for c in self.columns if c.required]


C = Column

# Platform codes used everywhere downstream (dim_platform seed has the Chinese names).
PLATFORMS = {
    "douyin": "抖音",
    "kuaishou": "快手",
    "xiaohongshu": "小红书",
    "weibo": "微博",
    "bilibili": "B站",
    "wechat_oa": "微信公众号",
    "wechat_channels": "视频号",
}

MATRIX_TIERS = ("官方", "经销商", "KOL", "KOC", "高管", "员工")
DCC_STATUS = {
    "101": "待分配",
    "201": "待建档",
    "301": "已建档",
    "401": "已邀约",
    "501": "跟进中",
    "601": "已下订单",
    "701": "已成交",
    "801": "战败申请中",
    "901": "已战败",
}
LEGACY_STATUS = ("新线索", "跟进中", "已到店", "已试驾", "已下订", "已交车", "战败", "无效")
REVIEW_STATUS = ("已发布", "审核中", "未通过", "已删除")

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
_add(
    Source(
        name="matrix_roster",
        fmt="xlsx",
        encoding=None,
        raw_table="matrix_roster",
        group="reference",
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

# Row-level and file-level defects the simulator injects and the ingest must handle.
# 'loaded' rows keep their values (normalised); 'set_aside' rows go to raw quarantine
# with the reason named here; 'file_rejected' sets the whole file aside.
MESS_KINDS: dict[str, str] = {
    "count_wan": "loaded",  # 1.2万 -> 12000
    "count_w": "loaded",  # 3.4w -> 34000
    "count_thousands_sep": "loaded",  # 1,234
    "count_lower_bound": "loaded",  # 10万+ (weibo reads) -> 100000, flagged
    "count_unknown": "loaded",  # '-' or empty -> NULL
    "rate_forms": "loaded",  # 23.5% / 0.235 / 23.5
    "duration_forms": "loaded",  # 00:01:35 / 95 / 1分35秒
    "time_forms": "loaded",  # ISO / 2026/7/1 9:05 / unix / Excel serial
    "fullwidth_digits": "loaded",
    "trailing_spaces": "loaded",
    "phone_forms": "loaded",  # +86 138 1234 5678, 138-1234-5678
    "phone_junk": "loaded",  # 123, 无: phone_is_valid FALSE
    "counter_decrease": "loaded",  # cumulative lower than yesterday: dbt clamps, flags
    "exact_duplicate_row": "set_aside",  # reason 'exact duplicate of row N'
    "total_row": "set_aside",  # 合计
    "blank_row": "set_aside",
    "column_reorder": "loaded",  # file-level
    "extra_column": "loaded",  # file-level, reported in the ledger
    "missing_required_column": "file_rejected",
    "truncated_xlsx": "file_rejected",
    "invalid_json": "file_rejected",
    "wrong_encoding": "file_rejected",
    "late_file": "loaded",  # lands days after D+1
    "redelivered_file": "loaded",  # a corrected copy replaces the first delivery
    "missing_file": "missing",  # never lands: the day shows as missing
    "junk_in_folder": "ignored",  # .tmp, ~$ lock file, README
}
