"""Checks a reader makes of any pack, shared by the fixture tests and the e2e demo tests.

- every breakdown table sums to its headline (the pack's own headline figures);
- an XLSX read back as Excel would: cell formats, formulas, types.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}  # fmt: skip
BUILTIN_FORMATS = {0: "General", 3: "#,##0", 9: "0%", 10: "0.00%", 14: "mm-dd-yy", 49: "@"}


def _total(df: pd.DataFrame, column: str) -> float:
    return float(pd.to_numeric(df[column], errors="coerce").fillna(0).sum())


def breakdown_mismatches(pack) -> list[tuple[str, str, float, float]]:
    """(table, column, sum of the rows, headline) for every breakdown that does not add up."""
    kpi = {k.key: k.value for k in pack.kpis}
    f, live = pack.funnel, pack.live
    t = {k: v.df for k, v in pack.tables.items()}
    months = pack.quarter.months()
    trend = t["monthly_trend"][t["monthly_trend"]["month"].isin(months)]
    roi = t["creator_roi"]
    checks = [
        ("matrix", "exposure", kpi["exposure"]), ("matrix", "valid_leads", kpi["valid_leads"]),
        ("matrix", "leads", f["leads"]),
        ("platforms", "exposure", kpi["exposure"]), ("platforms", "leads", f["leads"]),
        ("platforms", "valid_leads", kpi["valid_leads"]),
        ("live_by_platform", "sessions", live["sessions"]), ("live_by_platform", "viewers", live["viewers"]),
        ("live_by_platform", "leads", live["leads"]),
        ("dealer_scorecard", "leads", f["leads"]), ("dealer_scorecard", "valid_leads", f["valid_leads"]),
        ("campaign_roi", "cost_yuan", _total(roi, "cost_yuan")),
        ("campaign_roi", "valid_leads", _total(roi, "valid_leads")),
    ]  # fmt: skip
    reach = pack.reach
    checks += [
        ("matrix", "engagements", reach["engagements"]), ("matrix", "views", reach["views"]),
        ("matrix", "accounts", reach["accounts"]), ("matrix", "active_accounts", reach["active_accounts"]),
        ("matrix", "posts_published", reach["posts_published"]), ("platforms", "engagements", reach["engagements"]),
        ("content_types", "views", reach["views"]), ("content_types", "engagements", reach["engagements"]),
        ("title_length", "views", reach["views"]), ("title_length", "engagements", reach["engagements"]),
    ]  # fmt: skip
    for key in ("funnel_platform", "funnel_tier", "funnel_region"):
        if key in t:
            checks += [(key, c, f[c]) for c in ("leads", "valid_leads", "arrivals", "test_drives", "orders",
                                                "deliveries")]  # fmt: skip
    if "region_comparison" in t:
        checks += [("region_comparison", "exposure", kpi["exposure"]),
                   ("region_comparison", "valid_leads", kpi["valid_leads"]),
                   ("region_comparison", "arrivals", f["arrivals"]), ("region_comparison", "orders", f["orders"])]  # fmt: skip
    out = []
    for table, column, headline in checks:
        got = _total(t[table], column)
        if abs(got - float(headline or 0)) > 1e-6 * max(1.0, abs(float(headline or 0))):
            out.append((table, column, got, float(headline or 0)))
    for column, headline in (("exposure", kpi["exposure"]), ("valid_leads", kpi["valid_leads"])):
        got = _total(trend, column)
        if abs(got - float(headline or 0)) > 1e-6 * max(1.0, abs(float(headline or 0))):
            out.append(("monthly_trend", column, got, float(headline or 0)))
    return out


def xlsx_cells(path: Path, sheet: str) -> dict[tuple[int, int], dict]:
    """Cells of one sheet as Excel stores them: {(row, col): {type, formula, format}} (0-based)."""
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels}
        rid = next(s.get(f"{{{NS['r']}}}id") for s in wb.find("m:sheets", NS) if s.get("name") == sheet)
        sheet_xml = ET.fromstring(z.read("xl/" + target[rid].lstrip("/").removeprefix("xl/")))
        styles = ET.fromstring(z.read("xl/styles.xml"))
    custom = {int(n.get("numFmtId")): n.get("formatCode") for n in styles.iterfind("m:numFmts/m:numFmt", NS)}
    xfs = [int(x.get("numFmtId", 0)) for x in styles.iterfind("m:cellXfs/m:xf", NS)]
    out = {}
    for c in sheet_xml.iterfind(".//m:sheetData/m:row/m:c", NS):
        letters, number = re.match(r"([A-Z]+)(\d+)", c.get("r")).groups()
        col = 0
        for ch in letters:
            col = col * 26 + ord(ch) - 64
        fmt_id = xfs[int(c.get("s", 0))]
        out[(int(number) - 1, col - 1)] = {
            "type": c.get("t", "n"),
            "formula": c.find("m:f", NS) is not None,
            "format": custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, str(fmt_id))),
        }
    return out
