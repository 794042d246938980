"""An empty table in the PDF says what its emptiness means: "no dealer without an active account"
and "no failed GX check" are good news, not "no data"."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.render import _env

HQ = Audience("hq", "总部市场部", "national", ("cmo@example.com",))


def test_empty_tables_say_what_empty_means(fixture_db: Path) -> None:
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        pack = build_pack(con, Quarter.parse("2026Q3"), HQ, GateConfig())
    for key in ("dealers_no_active_account", "gx_failures"):
        t = pack.tables[key]
        pack.tables[key] = replace(t, df=t.df.iloc[0:0])
    html = (
        _env()
        .get_template("pack.html.j2")
        .render(pack=pack, issue=1, t=pack.tables, charts={}, font_family="sans-serif", font_face_css="")
    )
    assert "无：每家经销商本季度都有活跃账号。" in html
    assert "无：本季度没有未通过的 GX 校验。" in html
    # a table whose emptiness is unknown data still says so
    assert pack.tables["top_content"].empty == "（本季度无数据）"
