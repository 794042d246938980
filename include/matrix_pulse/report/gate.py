"""Quality gate: is a quarter's data good enough to go to marketing?

A quarter is held back when (a) a critical GX expectation on one of its dates failed and
no later check of the same expectation on the same source-day passed (a corrected
re-delivery clears it), or (b) the share of expected source-days that are missing,
rejected (a file set aside whole or with every row set aside) or GX-failed
(meta.source_freshness) is above the configured threshold, or
(c) the marts hold nothing for the quarter. The reasons are written in Chinese for the
notice to the data team and in English-free form on the pack's health page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from matrix_pulse.report import queries
from matrix_pulse.report.audiences import GateConfig
from matrix_pulse.report.quarters import Quarter

if TYPE_CHECKING:
    import duckdb


@dataclass
class GateResult:
    quarter: str
    passed: bool
    missing_rate: float | None
    expected_source_days: int
    unusable_source_days: int
    critical_failures: int
    threshold: float
    reasons: list[str] = field(default_factory=list)
    # Every unusable source-day of the quarter, 'source YYYY-MM-DD status' (rejected: a file
    # set aside whole or with every row set aside; gx_failed; missing), so the data team sees
    # each one even when their share stays under the threshold.
    unusable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate(con: duckdb.DuckDBPyConnection, quarter: Quarter, cfg: GateConfig) -> GateResult:
    expected, n_unusable = con.execute(
        "select count(*), count(*) filter (where status <> 'loaded') from meta.source_freshness "
        "where data_date between ? and ?",
        [quarter.start, quarter.end],
    ).fetchall()[0]
    unusable = [
        f"{source} {day:%Y-%m-%d} {status}"
        for source, day, status in con.execute(
            "select source, data_date, status from meta.source_freshness "
            "where data_date between ? and ? and status <> 'loaded' order by data_date, source",
            [quarter.start, quarter.end],
        ).fetchall()
    ]
    failures = queries.gx_failures(con, quarter)
    open_critical = failures[(failures["severity"] == "critical") & failures["is_latest_check"]]
    rate = n_unusable / expected if expected else None
    reasons: list[str] = []
    if quarter.label not in queries.quarter_labels_with_data(con):
        reasons.append(f"数据集市中没有 {quarter.label} 的数据（marts.mart_kpi_by_period 无该季度行）")
    if not expected:
        reasons.append(f"meta.source_freshness 中没有 {quarter.label} 的任何源数据日记录")
    elif rate is not None and rate > cfg.max_missing_source_day_rate:
        reasons.append(
            f"不可用（缺失/拒收/全部行被搁置/GX 失败）的源数据日占比 {rate * 100:.1f}%（{n_unusable}/{expected}），"
            f"超过阈值 {cfg.max_missing_source_day_rate * 100:.1f}%：{'；'.join(unusable[:10])}"
            + (f" 等 {len(unusable)} 个" if len(unusable) > 10 else "")
        )
    if cfg.block_on_critical_gx and len(open_critical):
        examples = "；".join(
            f"{r.source} {r.data_date:%Y-%m-%d} {r.expectation}({r.column_name or '-'})"
            for r in open_critical.head(5).itertuples()
        )
        reasons.append(f"{len(open_critical)} 项关键（critical）GX 校验未通过且未被后续交付修复：{examples}")
    return GateResult(quarter.label, not reasons, rate, int(expected), int(n_unusable), len(open_critical),
                      cfg.max_missing_source_day_rate, reasons, unusable)  # fmt: skip
