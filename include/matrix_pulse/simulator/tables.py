"""Clean daily tables: the true content of one source's file for one data date.

Each builder returns a :class:`CleanTable` whose columns follow ``sources.SOURCES`` in
contract order, plus ``meta`` arrays (post, account, lead row) that the truth
calculation needs and that no file carries.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from matrix_pulse.sources import PLATFORMS, SOURCES

from .content import LiveBook, PostBook
from .crm import NEVER, CrmRows, LeadBook
from .render import CleanTable, Col
from .world import World


def _table(source_name: str, values: dict[str, np.ndarray], n: int, **meta: np.ndarray) -> CleanTable:
    """Assemble columns in contract order from a {source column: values} mapping."""
    source = SOURCES[source_name]
    cols = [
        Col(
            c.source_name, c.kind, None if c.kind == "pii_drop" else c.name, values[c.source_name], c.required
        )
        for c in source.columns
    ]
    return CleanTable(source, cols, n, dict(meta))


def _post_rows(book: PostBook, world: World, d: int, rng: np.random.Generator, rate: float):
    """Posts live on day ``d``, their ages and cumulative counters (with platform corrections)."""
    idx = book.on_day(d)
    age = d - book.pub_day[idx]
    counters = {m: book.cumulative(m, idx, age) for m in book.totals}
    defects: Counter = Counter()
    if rate > 0 and len(idx):
        pick = np.nonzero((age >= 1) & (rng.random(len(idx)) < rate))[0]
        prev = book.cumulative("views", idx[pick], age[pick] - 1)
        lower = np.floor(prev * rng.uniform(0.8, 0.98, len(pick))).astype(np.int64)
        ok = lower < prev
        counters["views"][pick[ok]] = lower[ok]
        defects["counter_decrease"] += int(ok.sum())
    status = np.full(len(idx), "已发布", dtype=object)
    status[(age == 0) & book.review_pending[idx]] = "审核中"
    status[age >= book.deleted_age[idx]] = "已删除"
    status[book.rejected[idx]] = "未通过"
    acc = book.account_idx[idx]
    names = world.column("accounts", "account_name")[acc]
    ids = world.column("accounts", "account_id")[acc]
    return idx, age, counters, status, ids, names, defects


def content_table(
    source_name: str, book: PostBook, world: World, d: int, rng: np.random.Generator, rate: float
) -> CleanTable:
    """Cumulative-counter post exports: Douyin, Kuaishou, Xiaohongshu, Weibo, Bilibili, Channels."""
    idx, age, c, status, ids, names, defects = _post_rows(book, world, d, rng, rate)
    n = len(idx)
    pub = book.pub_sec[idx]
    title = book.title[idx]
    ctype = book.content_type[idx]
    if source_name == "douyin_posts":
        values = {
            "账号ID": ids,
            "账号名称": names,
            "作品ID": book.post_id[idx],
            "作品名称": title,
            "发布时间": pub,
            "体裁": ctype,
            "审核状态": status,
            "播放量": c["views"],
            "完播率": book.completion[idx],
            "平均播放时长": book.avg_watch[idx],
            "点赞量": c["likes"],
            "评论量": c["comments"],
            "分享量": c["shares"],
            "收藏量": c["saves"],
            "主页访问量": c["profile_visits"],
            "粉丝增量": c["follower_gain"],
        }
    elif source_name == "kuaishou_posts":
        values = {
            "账号ID": ids,
            "账号昵称": names,
            "作品ID": book.post_id[idx],
            "作品描述": title,
            "发布时间": pub,
            "作品类型": ctype,
            "播放数": c["views"],
            "点赞数": c["likes"],
            "评论数": c["comments"],
            "分享数": c["shares"],
            "收藏数": c["saves"],
            "涨粉数": c["follower_gain"],
        }
    elif source_name == "xiaohongshu_notes":
        ctr = np.round(np.clip(c["views"] / np.maximum(c["impressions"], 1), 0, 1), 3)
        values = {
            "账号ID": ids,
            "账号名称": names,
            "笔记ID": book.post_id[idx],
            "笔记标题": title,
            "首次发布时间": pub,
            "体裁": ctype,
            "曝光量": c["impressions"],
            "观看量": c["views"],
            "点赞": c["likes"],
            "收藏": c["saves"],
            "评论": c["comments"],
            "分享": c["shares"],
            "人均观看时长": book.avg_watch[idx],
            "涨粉": c["follower_gain"],
            "封面点击率": ctr,
        }
    elif source_name == "weibo_posts":
        values = {
            "账号UID": ids,
            "账号昵称": names,
            "微博ID": book.post_id[idx],
            "发布时间": pub,
            "微博内容": title,
            "阅读数": c["views"],
            "转发数": c["shares"],
            "评论数": c["comments"],
            "点赞数": c["likes"],
        }
    elif source_name == "bilibili_videos":
        values = {
            "bvid": book.post_id[idx],
            "mid": ids,
            "title": title,
            "pubdate": pub - 8 * 3600,
            "duration": book.duration[idx],
            "stat.view": c["views"],
            "stat.danmaku": c["danmaku"],
            "stat.reply": c["comments"],
            "stat.favorite": c["saves"],
            "stat.coin": c["coins"],
            "stat.share": c["shares"],
            "stat.like": c["likes"],
        }
    elif source_name == "wechat_channels_posts":
        values = {
            "export_id": book.post_id[idx],
            "account_id": ids,
            "desc": title,
            "create_time": pub - 8 * 3600,
            "read_count": c["views"],
            "like_count": c["likes"],
            "comment_count": c["comments"],
            "forward_count": c["shares"],
            "fav_count": c["saves"],
            "follow_count": c["follower_gain"],
        }
    else:
        raise ValueError(f"no content builder for source {source_name!r}")
    table = _table(source_name, values, n, post=idx, account=book.account_idx[idx])
    table.defects.update(defects)
    return table


def oa_tables(book: PostBook, world: World, d: int, followers: np.ndarray) -> tuple[CleanTable, CleanTable]:
    """WeChat OA datacube: daily article figures (a week per article) and daily follower figures."""
    idx = book.on_day(d, window=book.curve.shape[1])
    age = d - book.pub_day[idx]
    daily = {m: np.floor(book.totals[m][idx] * book.curve[idx, age]).astype(np.int64) for m in book.totals}
    daily["read_user"] = np.minimum(daily["read_user"], daily["views"])  # readers never exceed reads
    ref = str(world.days[d])
    acc = book.account_idx[idx]
    ids = world.column("accounts", "account_id")
    articles = _table(
        "wechat_oa_articles",
        {
            "ref_date": np.full(len(idx), ref, dtype=object),
            "account_id": ids[acc],
            "msgid": book.post_id[idx],
            "title": book.title[idx],
            "publish_time": book.pub_sec[idx] - 8 * 3600,
            "read_user": daily["read_user"],
            "read_count": daily["views"],
            "share_user": daily["shares"],
            "like_user": daily["likes"],
            "zaikan_user": daily["zaikan"],
            "comment_count": daily["comments"],
            "add_to_fav_user": daily["saves"],
        },
        len(idx),
        post=idx,
        account=acc,
    )
    oa = np.nonzero(world.column("accounts", "platform") == "wechat_oa")[0]
    new, lost, total = followers[:, d, 0], followers[:, d, 1], followers[:, d, 2]
    users = _table(
        "wechat_oa_users",
        {
            "ref_date": np.full(len(oa), ref, dtype=object),
            "account_id": ids[oa],
            "new_user": new,
            "cancel_user": lost,
            "cumulate_user": total,
        },
        len(oa),
        account=oa,
    )
    return articles, users


def oa_followers(rng: np.random.Generator, world: World) -> np.ndarray:
    """[oa account, day, (new, lost, cumulative)] follower figures for the official accounts."""
    oa = np.nonzero(world.accounts["platform"].to_numpy() == "wechat_oa")[0]
    n_days = len(world.days)
    new = rng.poisson(rng.uniform(200, 2000, (len(oa), 1)) * np.ones((1, n_days)))
    lost = rng.poisson(new * 0.3)
    base = rng.integers(200_000, 2_000_000, (len(oa), 1))
    total = base + np.cumsum(new - lost, axis=1)
    return np.stack([new, lost, total], axis=2)


def live_tables(lives: LiveBook, world: World, d: int) -> tuple[CleanTable, CleanTable]:
    """Douyin/Kuaishou rooms that ended on day ``d`` and WeChat Channels lives started on it."""
    on_day = lives.day == d
    ids = world.column("accounts", "account_id")
    m = lives.metrics
    sel = np.nonzero(on_day & (lives.platform != "wechat_channels"))[0]
    sessions = _table(
        "live_sessions",
        {
            "平台": np.array([PLATFORMS[p] for p in lives.platform[sel]], dtype=object),
            "账号ID": ids[lives.account_idx[sel]],
            "直播间ID": lives.live_id[sel],
            "开播时间": lives.start_sec[sel],
            "下播时间": lives.end_sec[sel],
            "观看人次": m["views"][sel],
            "观看人数": m["viewers"][sel],
            "最高在线": m["peak_online"][sel],
            "平均观看时长": m["avg_watch"][sel],
            "评论数": m["comments"][sel],
            "点赞数": m["likes"][sel],
            "新增粉丝": m["follower_gain"][sel],
            "组件点击数": m["component_clicks"][sel],
            "留资数": m["leads"][sel],
        },
        len(sel),
        live=sel,
        account=lives.account_idx[sel],
    )
    sel = np.nonzero(on_day & (lives.platform == "wechat_channels"))[0]
    channel_lives = _table(
        "wechat_channels_lives",
        {
            "export_id": lives.live_id[sel],
            "account_id": ids[lives.account_idx[sel]],
            "live_start_time": lives.start_sec[sel] - 8 * 3600,
            "live_duration_in_seconds": m["duration"][sel],
            "total_audience_count": m["viewers"][sel],
            "max_online_count": m["peak_online"][sel],
            "audiences_avg_seconds": m["avg_watch"][sel],
            "new_follow_count": m["follower_gain"][sel],
            "forward_count": m["shares"][sel],
            "total_comment_count": m["comments"][sel],
            "leads_count": m["leads"][sel],
        },
        len(sel),
        live=sel,
        account=lives.account_idx[sel],
    )
    return sessions, channel_lives


def _shown(times: np.ndarray, updated: np.ndarray) -> np.ndarray:
    """A milestone is in the row only once it happened (-1 = empty cell)."""
    return np.where((times < NEVER) & (times <= updated), times, -1)


def crm_table(source_name: str, rows: CrmRows, leads: LeadBook, world: World, d: int) -> CleanTable:
    """Leads created or changed on day ``d`` in one CRM system, in their state at that day's last change."""
    legacy = source_name == "crm_legacy"
    lo, hi = np.searchsorted(rows.day, [d, d + 1])
    row_idx = np.arange(lo, hi)
    lead = rows.lead[row_idx]
    keep = leads.is_legacy[lead] == legacy
    row_idx, lead = row_idx[keep], lead[keep]
    upd = rows.updated[row_idx]
    dealer_codes = world.column("dealers", "dealer_code")
    acc_ids = np.append(world.column("accounts", "account_id"), "")
    src_acc = acc_ids[np.where(leads.source_account_idx[lead] >= 0, leads.source_account_idx[lead], -1)]
    invalid_now = leads.invalid_at[lead] <= upd
    status = rows.legacy_status[row_idx] if legacy else rows.dcc_status[row_idx]
    defeated_now = np.isin(status, ["801", "901", "战败", "无效"])
    reason = np.where(defeated_now, leads.defeat_reason[lead], "").astype(object)
    common = {
        "clue": leads.clue_id[lead],
        "dealer": dealer_codes[leads.dealer_idx[lead]],
        "name": leads.customer_name[lead],
        "phone": leads.phone[lead],
        "series": leads.series[lead],
        "channel": leads.channel_name[lead],
        "account": src_acc,
        "content": leads.source_content_id[lead],
        "campaign": leads.campaign_code[lead],
        "created": leads.created[lead],
        "follow": _shown(leads.first_follow[lead], upd),
        "arrived": _shown(leads.arrived[lead], upd),
        "drive": _shown(leads.test_drive[lead], upd),
        "ordered": _shown(leads.ordered[lead], upd),
        "delivered": _shown(leads.delivered[lead], upd),
    }
    if legacy:
        values = {
            "线索编号": common["clue"],
            "经销商代码": common["dealer"],
            "客户姓名": common["name"],
            "手机号": common["phone"],
            "意向车型": common["series"],
            "线索来源": common["channel"],
            "来源账号": common["account"],
            "来源内容": common["content"],
            "活动编码": common["campaign"],
            "创建时间": common["created"],
            "首次跟进时间": common["follow"],
            "到店时间": common["arrived"],
            "试驾时间": common["drive"],
            "下订时间": common["ordered"],
            "交车时间": common["delivered"],
            "线索状态": status,
            "战败原因": reason,
            "更新时间": upd,
        }
    else:
        values = {
            "ClueId": common["clue"],
            "DealerId": common["dealer"],
            "CustomerName": common["name"],
            "Phone": common["phone"],
            "SeriesCode": common["series"],
            "ModelCode": leads.model[lead],
            "ChannelName": common["channel"],
            "SourceAccountId": common["account"],
            "SourceContentId": common["content"],
            "CampaignCode": common["campaign"],
            "CreateTime": common["created"],
            "DistributeTime": _shown(leads.distributed[lead], upd),
            "FirstFollowTime": common["follow"],
            "ArrivalTime": common["arrived"],
            "TestDriveTime": common["drive"],
            "OrderTime": common["ordered"],
            "DeliveryTime": common["delivered"],
            "LeadStatus": status,
            "DefeatReason": reason,
            "IsInvalid": np.where(invalid_now, "1", "0").astype(object),
            "InvalidType": np.where(invalid_now, leads.invalid_type[lead], "").astype(object),
            "UpdateTime": upd,
        }
    return _table(source_name, values, len(row_idx), crm_row=row_idx, lead=lead)
