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
from matrix_pulse.sources_content import CONTENT_SOURCES
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


# The platforms' content sources live in their own module (the longest part of the contract);
# registered first, so SOURCES keeps the contract's order.
for _src in CONTENT_SOURCES:
    _add(_src)


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
