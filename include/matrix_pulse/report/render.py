"""Render a QuarterPack: HTML mail body, full PDF (headless Chromium) and XLSX (xlsxwriter).

Files land in ``<outputs>/packs/<quarter>/<audience>/`` with the issue number in their
names, so a re-issue never overwrites what an earlier issue sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from matrix_pulse.report import fmt, xlsx_process
from matrix_pulse.report.fonts import find_cjk_font, pdf_font_faces
from matrix_pulse.report.model import ROW_KIND, cell_kind
from matrix_pulse.report.pack import QuarterPack, Table
from matrix_pulse.settings import get_settings

TEMPLATES = Path(__file__).parent / "templates"
# Charts shown inline in the mail, in order (the PDF shows them all).
MAIL_CHARTS = [("trend", "月度曝光与有效线索"), ("funnel", "线索漏斗"), ("matrix", "矩阵视图"),
               ("platforms", "平台对比"), ("dealers", "经销商排行")]  # fmt: skip
CID_SUFFIX = "@matrix-pulse"  # Content-ID domain part: unique enough inside one message
XLSX_FORMATS = {"count": "#,##0", "int": "#,##0", "pct": "0.0%", "yuan": "¥#,##0.00", "minutes": "0.0",
                "number": "#,##0.0", "hours": "#,##0.0", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}  # fmt: skip


@dataclass
class PackFiles:
    quarter: str
    audience: str
    issue: int
    folder: Path
    subject: str
    mail_html: Path
    pdf: Path
    xlsx: Path
    charts: dict[str, Path] = field(default_factory=dict)  # content-id -> png

    def as_dict(self) -> dict:
        return {"quarter": self.quarter, "audience": self.audience, "issue": self.issue, "folder": str(self.folder),
                "subject": self.subject, "mail_html": str(self.mail_html), "pdf": str(self.pdf),
                "xlsx": str(self.xlsx), "charts": {k: str(v) for k, v in self.charts.items()}}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> PackFiles:
        return cls(d["quarter"], d["audience"], int(d["issue"]), Path(d["folder"]), d["subject"],
                   Path(d["mail_html"]), Path(d["pdf"]), Path(d["xlsx"]),
                   {k: Path(v) for k, v in d["charts"].items()})  # fmt: skip


def pack_folder(quarter: str, audience_id: str) -> Path:
    return get_settings().outputs_dir / "packs" / quarter / audience_id


def subject_for(pack: QuarterPack, issue: int) -> str:
    reissue = f"（更新版 第{issue}期）" if issue > 1 else ""
    return f"【季度复盘】{pack.quarter.label_cn}新媒体矩阵复盘 · {pack.scope_label}{reissue}"


def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.globals["fmt"] = fmt
    env.globals["compact_table"] = compact_table
    return env


def compact_table(t: Table, keys: list[str]) -> dict:
    """A few columns of a table, for the mail (the PDF and XLSX carry every column)."""
    picked = [i for i, c in enumerate(t.columns) if c.key in keys]
    return {
        "labels": [t.columns[i].label for i in picked],
        "rows": [[row[i] for i in picked] for row in t.rows()],
    }


def render_mail_html(pack: QuarterPack, issue: int) -> str:
    shown = MAIL_CHARTS + ([("regions", "七大区对比")] if "region_comparison" in pack.tables else [])
    return _env().get_template("mail.html.j2").render(
        pack=pack, issue=issue, charts=[(f"{name}{CID_SUFFIX}", title) for name, title in shown],
        platforms=pack.tables["platforms"], regions=pack.tables.get("region_comparison"),
        missing_rate=fmt.pct(pack.gate.missing_rate),
    )  # fmt: skip


def render_pdf(
    pack: QuarterPack, issue: int, charts: dict[str, Path], html_path: Path, pdf_path: Path
) -> Path:
    """The pack's HTML (archived at html_path) printed to PDF by headless Chromium."""
    return start_pdf(pack, issue, charts, html_path, pdf_path).result()


def start_pdf(
    pack: QuarterPack, issue: int, charts: dict[str, Path], html_path: Path, pdf_path: Path
) -> Future:
    """Write the pack's HTML to html_path and queue its print to pdf_path; the Future gives the
    PDF's path. The caller may do other work (the XLSX) while Chromium prints."""
    from matrix_pulse.report.chromium import submit_pdf

    font = find_cjk_font()
    faces = pdf_font_faces()
    font_face_css = "\n".join(
        f'@font-face {{ font-family: "{fam}"; font-weight: {w}; src: url("{path.as_uri()}"); }}'
        for fam, w, path in faces
    )
    families = ", ".join(f'"{f}"' for f in dict.fromkeys([*(fam for fam, _w, _p in faces), font.family]))
    # Charts as file:// URLs: the browser loads local files only (chromium.py blocks the rest).
    html = _env().get_template("pack.html.j2").render(
        pack=pack, issue=issue, t=pack.tables, charts={k: v.resolve().as_uri() for k, v in charts.items()},
        font_family=families, font_face_css=font_face_css,
    )  # fmt: skip
    html_path.write_text(html, encoding="utf-8")
    return submit_pdf(html_path, pdf_path)


def _xlsx_value(value, kind: str):
    """The cell value: None (blank), a number, a datetime/date (a real Excel date), a bool or text."""
    from matrix_pulse.report.fmt import is_missing

    # None, NaN, pandas NaT and NA are all "unknown": an empty cell, never 0.
    if is_missing(value):
        return None
    if kind == "hours":
        return float(value) / 3600
    if isinstance(value, datetime):  # also pandas.Timestamp
        value = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
        return value.date() if value.time() == time(0) else value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    if hasattr(value, "item"):  # numpy scalar -> Python number
        return value.item()
    return value


def _write_cell(ws, row: int, col: int, value, kind: str, text, formats) -> None:
    """One cell, typed explicitly: text from source data (a title "=SUM(A1)") is written with
    write_string, so Excel never evaluates it as a formula; dates as Excel dates."""
    v = _xlsx_value(value, kind)
    if v is None:
        ws.write_blank(row, col, None, text)
    elif isinstance(v, bool):
        ws.write_string(row, col, "是" if v else "否", text)
    elif isinstance(v, int | float) and kind in formats:
        ws.write_number(row, col, v, formats[kind])
    elif isinstance(v, datetime):
        ws.write_datetime(row, col, v, formats["datetime"])
    elif isinstance(v, date):
        ws.write_datetime(row, col, datetime.combine(v, time(0)), formats["date"])
    else:
        ws.write_string(row, col, str(v), text)


# in_memory: each sheet's XML is built in memory and zipped straight into the file; the
# default writes every part (~50 per pack) to a temp file first, then reads, zips and deletes
# them. Same XML either way. strings_to_*: False, so write() and write_column() write every
# str as a string, never as a formula, a hyperlink or a number (see _write_column).
XLSX_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False}  # fmt: skip


def _xlsx_formats(wb):
    """(head, title, note, text, {kind: number format}) cell formats of the pack's workbook."""
    base = {"font_name": "Microsoft YaHei", "font_size": 10}
    head = wb.add_format({**base, "bold": True, "bg_color": "#1f3a5f", "font_color": "#ffffff", "border": 0,
                          "text_wrap": True, "valign": "vcenter"})  # fmt: skip
    title = wb.add_format({**base, "bold": True, "font_size": 14, "font_color": "#1f3a5f"})
    note = wb.add_format({**base, "font_color": "#6b7280", "italic": True})
    text = wb.add_format(base)
    formats = {k: wb.add_format({**base, "num_format": v}) for k, v in XLSX_FORMATS.items()}
    return head, title, note, text, formats


def write_xlsx(pack: QuarterPack, path: Path) -> Path:
    """Every table behind the pack, one sheet each, raw numbers with display formats."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), XLSX_OPTIONS)
    head, title, note, text, formats = _xlsx_formats(wb)

    about = wb.add_worksheet("说明")
    about.set_column(0, 0, 18)
    about.set_column(1, 1, 80)
    about.write_string(0, 0, pack.title, title)
    info = [("季度", pack.quarter.label), ("对象", pack.audience.name), ("范围", pack.scope_label),
            ("统计期", f"{pack.quarter.start} 至 {pack.quarter.end}"),
            ("生成时间", pack.generated_at.strftime("%Y-%m-%d %H:%M")),
            ("质量门禁", "通过" if pack.gate.passed else "未通过：" + "；".join(pack.gate.reasons)),
            ("口径", "比率以百分比格式显示（单元格内为小数）；响应时长单位为分钟；观看时长单位为小时；金额单位为元；"
                     "日期为 Excel 日期。空白单元格 = 无数据（不是 0）。")]  # fmt: skip
    for i, (k, v) in enumerate(info, start=2):
        about.write_string(i, 0, k, head)
        about.write_string(i, 1, v, text)
    about.write_string(len(info) + 3, 0, "工作表", head)
    for i, t in enumerate(pack.tables.values(), start=len(info) + 4):
        about.write_string(i, 0, (t.sheet or t.title)[:31], text)
        about.write_string(i, 1, t.title + (f"（{t.note}）" if t.note else ""), text)

    for t in pack.tables.values():
        _write_sheet(wb, t, head, note, text, formats)
    wb.close()
    return path


def _write_sheet(wb, t: Table, head, note, text, formats) -> None:
    ws = wb.add_worksheet((t.sheet or t.title)[:31])
    units = {"hours": "（小时）", "minutes": "（分钟）", "yuan": "（元）"}
    for j, c in enumerate(t.columns):
        ws.write_string(0, j, c.label + units.get(c.kind, ""), head)
        wide = c.kind == "text" and c.key in (
            "title",
            "dealer_name",
            "account_name",
            "campaign_name",
            "label",
        )
        ws.set_column(j, j, 28 if wide else 13)
    records = None
    for j, c in enumerate(t.columns):
        if not len(t.df):
            break
        if c.kind == ROW_KIND or c.key not in t.df.columns:
            # The format differs per row (or the column is absent: blanks): cell by cell.
            records = records if records is not None else t.df.to_dict("records")
            for i, rec in enumerate(records, start=1):
                _write_cell(ws, i, j, rec.get(c.key), cell_kind(c, rec), text, formats)
        else:
            _write_column(ws, j, t.df[c.key], c.kind, text, formats)
    ws.set_row(0, 30)
    ws.freeze_panes(1, 0)
    if len(t.df):
        ws.autofilter(0, 0, len(t.df), len(t.columns) - 1)
    if t.note:
        ws.write_string(len(t.df) + 2, 0, t.note, note)


def _column_cells(series, kind: str, formats) -> tuple[list, str | None]:
    """The cells of one column below its header, typed as _write_cell types them: (values,
    format key), None standing for a blank; format key None when the cells are of mixed types."""
    import numpy as np
    from pandas.api.types import is_string_dtype

    if series.dtype.kind in "iuf" and kind in formats and kind not in ("date", "datetime"):
        # Numbers (numpy or nullable ints and floats): converted for the whole column at once.
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        if kind == "hours":
            arr = arr / 3600
        values = arr.tolist()
        for i in np.flatnonzero(np.isnan(arr)).tolist():
            values[i] = None
        return values, kind
    if kind not in formats and is_string_dtype(series):
        # Text (a str dtype, or objects that are all str or missing): missing ones become blanks.
        values = series.tolist()
        for i in np.flatnonzero(series.isna().to_numpy()).tolist():
            values[i] = None
        return values, "text"
    keys = set()
    values = []
    for v in map(_xlsx_value, series.tolist(), [kind] * len(series)):
        if v is None:
            key = None
        elif isinstance(v, bool):
            v, key = ("是" if v else "否"), "text"
        elif isinstance(v, int | float) and kind in formats:
            key = kind
        elif isinstance(v, datetime):
            key = "datetime"
        elif isinstance(v, date):
            v, key = datetime.combine(v, time(0)), "date"
        else:
            v, key = str(v), "text"
        keys.add(key)
        values.append(v)
    keys.discard(None)
    return values, (keys.pop() if len(keys) == 1 else None if keys else "text")


def _write_column(ws, col: int, series, kind: str, text, formats) -> None:
    """One column in one write_column call with one format (issue 17: our Python per cell, on
    top of xlsxwriter's own, was a third of the XLSX time: 3.2 s -> 2.1 s for 290,000 cells).
    The workbook writes strings as strings (no formula, URL or number guessing), so source
    text like "=SUM(A1)" stays text."""
    values, key = _column_cells(series, kind, formats)
    if key is None:  # mixed types (not seen in a pack): each cell as _write_cell types it
        for i, v in enumerate(series.tolist(), start=1):
            _write_cell(ws, i, col, v, kind, text, formats)
        return
    fmt_ = text if key == "text" else formats[key]
    ws.write_column(1, col, values, fmt_)
    if fmt_ is not text and None in values:
        for i, v in enumerate(values, start=1):
            if v is None:
                ws.write_blank(i, col, None, text)  # blanks carry the text format, as they always did
    if key == "text" and "" in values:
        for i, v in enumerate(values, start=1):
            if v == "":
                ws.write_string(i, col, "", text)  # write() would make "" a blank cell


@contextmanager
def workers() -> Iterator[None]:
    """Start, before the packs' queries, what rendering them will need: the XLSX worker (forked
    first, before this block opens DuckDB or the browser; where one process runs several tasks,
    as `dags test` does, an earlier task's browser thread exists then, idle on its queue) and
    the browser (its launch overlaps the queries); the worker is shut down at the end. Optional: without it render_pack writes
    the XLSX itself, while Chromium prints, and launches the browser on its first print."""
    from matrix_pulse.report import chromium

    xlsx_process.start()
    try:
        chromium.warm()
        yield
    finally:
        xlsx_process.stop()


def render_pack(pack: QuarterPack, issue: int, folder: Path | None = None) -> PackFiles:
    """Charts, mail HTML, PDF, XLSX and a manifest under the pack's archive folder."""
    from matrix_pulse.report.charts import render_charts

    folder = folder or pack_folder(pack.quarter.label, pack.audience.id)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"MatrixPulse_{pack.quarter.label}_{pack.audience.id}_issue{issue}"
    writing = xlsx_process.write(write_xlsx, pack, folder / f"{stem}.xlsx")
    charts = render_charts(pack, folder / f"charts_issue{issue}")
    printing = start_pdf(pack, issue, charts, folder / f"{stem}.html", folder / f"{stem}.pdf")
    mail = folder / f"{stem}_mail.html"
    mail.write_text(render_mail_html(pack, issue), encoding="utf-8")
    # Chromium prints the PDF in its own processes, and the XLSX is written by the worker that
    # workers() forked while this process draws the charts: on two cores they overlap (issue 17).
    xlsx = writing.result()  # without the worker, written here now, while Chromium prints
    pdf = printing.result()
    files = PackFiles(pack.quarter.label, pack.audience.id, issue, folder, subject_for(pack, issue), mail, pdf,
                      xlsx, {f"{name}{CID_SUFFIX}": path for name, path in charts.items()})  # fmt: skip
    manifest = files.as_dict() | {
        "generated_at": pack.generated_at.isoformat(),
        "gate": pack.gate.as_dict(),
        "kpis": {k.key: k.value for k in pack.kpis},
        "sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (mail, pdf, xlsx)},
    }
    (folder / f"{stem}_manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return files
