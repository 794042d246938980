"""The vocabulary of the input contract (shared/contracts/sources.md): what a source is made of.

The registry itself (every source, declared once) is ``matrix_pulse.sources``. Each column
maps the export's own header to the raw table's English column and says, by its kind, how
its values are normalised and which raw column(s) it becomes (``raw_columns``):

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
number      <name> DOUBLE                         a plain number kept as written (0-100 percentages)
unix        <name> TIMESTAMP (Asia/Shanghai)      unix seconds from the JSON APIs
phone       phone_hash, phone_masked,             HMAC-SHA256 of the normalised 11-digit
            phone_is_valid                        number; 138****5678; junk -> hash NULL, FALSE
hashed_id   <name>_hash                           HMAC-SHA256 of 'id:' + the trimmed value (a person's
                                                  ID such as WeCom's external_userid: never in clear)
pii_drop    (none)                                customer names are dropped at load

Every raw table also carries: data_date DATE, source_file VARCHAR, file_sha256 VARCHAR,
source_row BIGINT (1-based data row in the file), loaded_at TIMESTAMP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Column:
    source_name: str  # header as the export writes it (or JSON key path, '.'-separated)
    name: str  # raw table column
    kind: str
    required: bool = True

    @property
    def is_hashed(self) -> bool:
        """A phone or personal ID: HMAC'd by the load step into ``<name>_hash``, never stored in clear."""
        return self.kind in ("phone", "hashed_id")


class RawColumn(NamedTuple):
    """One column of a raw table as the warehouse and dbt see it."""

    name: str
    type: str  # DuckDB type
    description: str


@dataclass(frozen=True)
class Source:
    name: str  # folder under landing/ and file prefix
    fmt: str  # xlsx | csv | json
    encoding: str | None  # csv only: utf-8, utf-8-sig, gb18030
    raw_table: str  # raw.<raw_table>
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # raw columns unique within one file
    group: str  # content | crm | reference
    staging_group: str  # dbt source group and folder: models/staging/<staging_group>/
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


@dataclass(frozen=True)
class Platform:
    """A platform of the matrix (dbt's ``platforms.csv`` seed and ``mp_platform_aliases`` macro
    are generated from these)."""

    code: str  # used everywhere downstream
    name_cn: str
    # how exports and CRM channels write the platform (matched trimmed and lower-cased)
    aliases: tuple[str, ...] = ()
    reports_impressions: bool = False
    counters_are_cumulative: bool = True


PLATFORM_LIST: tuple[Platform, ...] = (
    Platform("douyin", "抖音", ("抖音", "douyin", "抖音号")),
    Platform("kuaishou", "快手", ("快手", "kuaishou")),
    Platform("xiaohongshu", "小红书", ("小红书", "xiaohongshu", "red"), reports_impressions=True),
    Platform("weibo", "微博", ("微博", "新浪微博", "weibo")),
    Platform("bilibili", "B站", ("b站", "哔哩哔哩", "bilibili")),
    Platform("wechat_oa", "微信公众号", ("微信公众号", "公众号", "wechat_oa"), counters_are_cumulative=False),
    Platform("wechat_channels", "视频号", ("视频号", "微信视频号", "wechat_channels")),
)
# code -> Chinese name, the form most readers want
PLATFORMS: dict[str, str] = {p.code: p.name_cn for p in PLATFORM_LIST}

# matrix tier -> matrix group: 1 (官方) / N (经销商) / X (KOL, KOC) / 全员 (高管, 员工);
# dbt's ``mp_matrix_groups`` macro is generated from it
MATRIX_GROUPS: dict[str, str] = {
    "官方": "1",
    "经销商": "N",
    "KOL": "X",
    "KOC": "X",
    "高管": "全员",
    "员工": "全员",
}
MATRIX_TIERS: tuple[str, ...] = tuple(MATRIX_GROUPS)
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

# kind -> DuckDB type of the raw column(s) (the table in the module docstring)
KIND_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "count": "BIGINT",
    "count_lb": "BIGINT",
    "rate": "DOUBLE",
    "duration": "DOUBLE",
    "time": "TIMESTAMP",
    "date": "DATE",
    "money": "DOUBLE",
    "number": "DOUBLE",
    "unix": "TIMESTAMP",
}

# Every raw table ends with these (where each row came from).
LINEAGE_COLUMNS: tuple[RawColumn, ...] = (
    RawColumn("data_date", "DATE", "The day the numbers cover (YYYYMMDD in the file name)."),
    RawColumn("source_file", "VARCHAR", "Name of the landed file the row came from."),
    RawColumn("file_sha256", "VARCHAR", "SHA-256 of the landed file, as archived."),
    RawColumn("source_row", "BIGINT", "1-based data row in the file (first row under the header is 1)."),
    RawColumn("loaded_at", "TIMESTAMP", "When the ingest loaded the row."),
)


def raw_columns(source: Source) -> list[RawColumn]:
    """The columns of ``raw.<source.raw_table>``, lineage columns last: the ingest's DDL, dbt's
    source declarations and the test fixture warehouse are all made from this."""
    cols: list[RawColumn] = []
    for c in source.columns:
        origin = f"Export column `{c.source_name}` ({c.kind})."
        if c.kind == "pii_drop":
            continue  # names never reach the warehouse
        if c.kind == "hashed_id":
            cols.append(
                RawColumn(f"{c.name}_hash", "VARCHAR", f"{origin} HMAC-SHA256 (keyed); never in clear.")
            )
            continue
        if c.kind == "phone":
            cols += [
                RawColumn(
                    f"{c.name}_hash",
                    "VARCHAR",
                    f"{origin} HMAC-SHA256 of the normalised number; NULL for junk.",
                ),
                RawColumn(f"{c.name}_masked", "VARCHAR", f"{origin} Masked for display (138****5678)."),
                RawColumn(
                    f"{c.name}_is_valid",
                    "BOOLEAN",
                    f"{origin} FALSE when the value is not an 11-digit mobile.",
                ),
            ]
            continue
        cols.append(RawColumn(c.name, KIND_TYPES[c.kind], origin))
        if c.kind == "count_lb":
            cols.append(
                RawColumn(f"{c.name}_is_lower_bound", "BOOLEAN", f"TRUE when `{c.source_name}` read 10万+.")
            )
    return cols + list(LINEAGE_COLUMNS)


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
