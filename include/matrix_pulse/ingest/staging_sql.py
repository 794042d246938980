"""The SQL of a chunk: one staging table per source, and the statements that type and judge its rows."""

from __future__ import annotations

from matrix_pulse.ingest.column_map import ColumnMap, required_value_columns
from matrix_pulse.ingest.normalise import typed_expression
from matrix_pulse.ingest.pii import scrub_replace_sql
from matrix_pulse.ingest.readers import TOTAL_MARKERS, StagedTable
from matrix_pulse.ingest.schema import LINEAGE_COLUMNS, raw_columns
from matrix_pulse.sources import Source


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def union_table(src: Source) -> str:
    return f"_u_{src.raw_table}"


def norm_table(src: Source) -> str:
    return f"_n_{src.raw_table}"


def union_ddl(src: Source) -> str:
    """The chunk's staging table of one source: contract column j of each file in k<j>."""
    cols = ", ".join(f"k{j} VARCHAR" for j in range(len(src.columns)))
    return (
        f"CREATE OR REPLACE TEMP TABLE {union_table(src)} (_fid INTEGER, source_row BIGINT, {cols}, "
        "_xvals VARCHAR[], _xjson VARCHAR)"
    )


def union_insert_sql(fid: int | str, staged: StagedTable, cmap: ColumnMap) -> str:
    """Append one staged file to its source's staging table (mapping its columns by name);
    ``fid`` is the file's id, or SQL giving it per row (several files in one statement)."""
    src = staged.source
    cells = [
        staged.column(cmap.mapped[c.source_name]) if c.source_name in cmap.mapped else "NULL"
        for c in src.columns
    ]
    xvals = (
        f"[{', '.join(staged.column(i) for i in cmap.unmapped)}]::VARCHAR[]"
        if cmap.unmapped
        else "NULL::VARCHAR[]"
    )
    named = [i for i in cmap.unmapped if staged.headers[i]]
    xjson = (
        f"json_object({', '.join(f'{_q(staged.headers[i])}, {staged.column(i)}' for i in named)})::VARCHAR"
        if named
        else "NULL::VARCHAR"
    )
    return (
        f"INSERT INTO {union_table(src)} SELECT {fid}, {staged.row_expr}, {', '.join(cells)}, {xvals}, {xjson} "
        f"FROM {staged.relation}" + (f" WHERE {staged.where}" if staged.where else "")
    )


def duplicate_columns(src: Source) -> list[str]:
    """The cells (as delivered) two rows of a file must share to be exact duplicates."""
    return ["_fid"] + [f"k{j}" for j in range(len(src.columns))] + ["_xvals"]


def row_hash(src: Source, alias: str) -> str:
    """The 64-bit hash of a staged row's cells as delivered (``alias`` a staging-table row):
    what the normalising statement groups exact duplicates by and what the proof
    (``hash_collision_sql``) finds a marked row by, so both must be this one expression."""
    return f"hash({', '.join(f'{alias}.{c}' for c in duplicate_columns(src)[1:])})"


def _numbered(src: Source) -> str:
    """The staging table with each row's 1-based row in its file: a CSV's rows are numbered
    from the table's rowid (file order), per file; sheets and JSON come numbered."""
    t = union_table(src)
    return (
        f"SELECT u.* EXCLUDE (source_row), coalesce(u.source_row, u.rowid - m.r0 + 1) AS source_row "
        f"FROM {t} u JOIN (SELECT _fid, min(rowid) AS r0 FROM {t} GROUP BY _fid) m USING (_fid)"
    )


def hash_collision_sql(src: Source) -> str:
    """How many rows the normalising statement marked as duplicates without proof that their
    cells equal those of the row they are marked a duplicate of (a 64-bit hash collision).

    Any hash partition that mixes two different rows has a non-first row that differs from
    the partition's first row, so a count of 0 proves every duplicate mark exact. The cells
    compared are the staging table's, as delivered. A marked row is found there by its file,
    its row and its hash (a row of an exploded list, WeCom's remark_mobiles, shares its
    source_row with its siblings) and needs one row of its ``_dup_of`` with the same cells; a
    marked row not found at all counts too, so the check cannot pass by finding nothing.
    Only the rows of the marks are taken from the staging table (one scan): materialising all
    of it for the two lookups took 0.73-0.86 s against 0.29-0.35 s (crm_dcc's first national
    chunk, 40 k marks). Compared as delivered, not as scrubbed: stricter than before, when the
    check read stage 1's table.
    """
    cells = duplicate_columns(src)[1:]
    same = " AND ".join(f"a.{c} IS NOT DISTINCT FROM b.{c}" for c in cells)
    return (
        f"WITH d AS MATERIALIZED (SELECT _fid, source_row, _dup_of, _h FROM {norm_table(src)} "
        "WHERE _dup_of < source_row), "
        f"u AS MATERIALIZED (SELECT n.* FROM ({_numbered(src)}) n SEMI JOIN "
        "(SELECT _fid, source_row FROM d UNION ALL SELECT _fid, _dup_of FROM d) k USING (_fid, source_row)), "
        # each marked row beside its own cells first: joined in one step, DuckDB paired all rows of a file
        f"a AS MATERIALIZED (SELECT d._dup_of, d._h, u.* FROM d JOIN u USING (_fid, source_row) "
        f"WHERE {row_hash(src, 'u')} = d._h), "
        "proved AS (SELECT a._fid, a.source_row, a._h FROM a "
        f"JOIN u b ON b._fid = a._fid AND b.source_row = a._dup_of WHERE {same}) "
        "SELECT count(*) FROM d ANTI JOIN proved USING (_fid, source_row, _h)"
    )


def build_normalise_sql(src: Source, phone_table: str | None, exact_duplicates: bool = False) -> list[str]:
    """One set-based statement (returned as a list of one) that types every contract column
    and decides each row's fate, over every file of the chunk at once (``_fid`` tells the files
    apart).

    Staged inside it on purpose, as CTEs: DuckDB inlines macros, so folding each cell once
    (stage 1, its own projection) and judging rows on already-typed columns (stage 2) keeps
    every expression small. Stage 1 was a temp table of its own, which the hash-collision
    check read; as a CTE, crm_dcc's first national chunk (1.37 M rows) takes 9.1 CPU-s instead
    of 11.4 (DuckDB's profile, issue 17), and the check reads the staging table instead.
    Result: ``_n_<raw_table>`` with _fid, source_row, the raw columns, _dup_of and _h (the
    duplicate mark and the hash it came from, for the check), _reason, _detail, _original.
    """
    n = len(src.columns)
    required = set(required_value_columns(src))
    phone_join = ""
    phone_hash = "NULL::VARCHAR"
    # A phone's digits are extracted once per cell (two regex replaces), then joined to the
    # chunk's hashes and reused for the mask and the validity flag in stage 2.
    phones = [j for j, c in enumerate(src.columns) if c.kind == "phone"]
    digits = "".join(f", mp_phone_digits(u.k{j}) AS _pd{j}" for j in phones)
    digit_cols = "".join(f", s._pd{j}" for j in phones)

    # Stage 1: fold every cell once; find exact duplicates (within a file) on the cells as delivered.
    for j, c in enumerate(src.columns):
        if c.kind == "phone" and phone_table:
            phone_join = f"LEFT JOIN {phone_table} pk ON pk.digits = s._pd{j}"
            phone_hash = "pk.phone_hash"
    # A personal ID (hashed_id) is looked up in the same table as the phones, as 'id:<value>'.
    ids = [j for j, c in enumerate(src.columns) if c.kind == "hashed_id"]
    id_hash = "".join(f", ik{j}.phone_hash AS _ih{j}" for j in ids) if phone_table else ""
    id_hash = id_hash or "".join(f", NULL::VARCHAR AS _ih{j}" for j in ids)
    if phone_table:
        phone_join += "".join(
            f" LEFT JOIN {phone_table} ik{j} ON ik{j}.digits = 'id:' || mp_fold(s.k{j})" for j in ids
        )
    folded = ", ".join(f"s.k{j}, mp_fold(s.k{j}) AS f{j}" for j in range(n))
    # Exact duplicates: rows of a file with the same cells share the smallest source_row.
    # Grouping a narrow (file, hash of the cells) key and joining it back costs a third of
    # a window partitioned by every text cell (which drags all columns through its sort);
    # the loader proves the marks exact (hash_collision_sql) and falls back to the cells.
    s_cells = ", ".join(f"s.{c}" for c in duplicate_columns(src))
    if exact_duplicates:  # the fallback: a window partitioned by the cells themselves
        dup_of, dup_join = f"min(s.source_row) OVER (PARTITION BY {s_cells})", ""
    else:
        dup_of = "g._dup_of"
        dup_join = "JOIN (SELECT _fid, _h, min(source_row) AS _dup_of FROM s GROUP BY ALL) g USING (_fid, _h)"
    # s is materialised (the duplicate marks read it twice); the folding is a projection of
    # its own that the steps after it read (DuckDB does not merge it into them), so each cell
    # is folded once; k<j> is the cell as delivered (free text scrubbed), f<j> its folded form.
    stage1 = f"""
        s AS MATERIALIZED (
            SELECT u.* EXCLUDE (source_row) {scrub_replace_sql(src)}, u.source_row,
                {row_hash(src, "u")} AS _h{digits}
            FROM ({_numbered(src)}) u),
        folded AS NOT MATERIALIZED (
            SELECT s._fid, s.source_row, {folded}, s._xvals, s._xjson, {dup_of} AS _dup_of, s._h,
                {phone_hash} AS _phone_hash{digit_cols}{id_hash}
            FROM s {dup_join}
            {phone_join})
    """

    # Stage 2: typed columns, still next to the folded text they came from.
    typed: list[str] = []
    problems: list[str] = []
    missing_checks: list[str] = []
    original_pairs: list[str] = []
    for j, c in enumerate(src.columns):
        col, fcol = f"k{j}", f"f{j}"  # the cell as delivered (free text scrubbed), and folded
        if c.kind == "pii_drop":
            continue  # names never leave the staging table, not even into quarantine
        if c.kind == "hashed_id":
            typed.append(f'_ih{j} AS "{c.name}_hash"')
            original_pairs.append(f"{_q(c.source_name + '_hash')}, _ih{j}")
            if f"{c.name}_hash" in required:
                missing_checks.append(f"CASE WHEN _ih{j} IS NULL THEN {_q(c.source_name)} END")
            continue
        if c.kind == "phone":
            typed += [
                f"_phone_hash AS {c.name}_hash",
                f"mp_phone_masked_d(_pd{j}) AS {c.name}_masked",
                f"mp_phone_valid_d(_pd{j}) AS {c.name}_is_valid",
            ]
            # The quarantine keeps the phone only as mask and hash: never the number.
            original_pairs += [
                f"{_q(c.source_name + '_masked')}, mp_phone_masked_d(_pd{j})",
                f"{_q(c.source_name + '_hash')}, _phone_hash",
            ]
            continue
        original_pairs.append(f"{_q(c.source_name)}, {col}")
        # H5: free text keeps its punctuation as written (only number-like kinds are folded).
        typed.append(f'{typed_expression(c.kind, col if c.kind == "text" else fcol)} AS "{c.name}"')
        if c.kind == "count_lb":
            typed.append(f'mp_lower_bound_f({fcol}) AS "{c.name}_is_lower_bound"')
        if c.kind not in ("id", "text", "code"):
            # NULL first: only an empty, unknown or unparseable cell is tested for the tokens
            problems.append(
                f'CASE WHEN "{c.name}" IS NULL AND NOT mp_unknown_f({fcol}) THEN '
                f"{_q(c.source_name + ': expected ' + c.kind + ', found ')} || quote_text({col}) END"
            )
        if c.name in required:
            missing_checks.append(f'CASE WHEN "{c.name}" IS NULL THEN {_q(c.source_name)} END')
    markers = ", ".join(_q(m) for m in TOTAL_MARKERS)
    marker_cols = [f"f{j}" for j, c in enumerate(src.columns) if c.kind in ("id", "text", "code")]
    total_check = (
        " OR ".join(f"coalesce(list_contains([{markers}], {c}), FALSE)" for c in marker_cols) or "FALSE"
    )
    blank_check = (
        f"coalesce({', '.join(f'f{j}' for j in range(n))}) IS NULL "
        "AND coalesce(len(list_filter(_xvals, lambda x: mp_fold(x) IS NOT NULL)), 0) = 0"
    )
    base = f"json_object({', '.join(original_pairs)})::VARCHAR"
    # Columns the contract does not know travel to quarantine too, appended to the object.
    # H5: a phone/ID typed into any cell of a set-aside row is masked in quarantine too.
    original_sql = (
        f"mp_pii_scrub(CASE WHEN _xjson IS NULL OR _xjson = '{{}}' THEN {base} "
        f"ELSE rtrim({base}, '}}') || ',' || substr(_xjson, 2) END)::JSON"
    )
    stage2 = f"SELECT *, {', '.join(typed)}, {blank_check} AS _blank, ({total_check}) AS _total FROM folded"

    # Stage 3: each row's fate, judged on the typed values (MESS_KINDS names as reasons);
    # the statement that creates the chunk's normalised table.
    missing_sql = f"concat_ws(', ', {', '.join(missing_checks)})" if missing_checks else "''"
    problems_sql = f"concat_ws('; ', {', '.join(problems)})" if problems else "''"
    raw_names = ", ".join(f'"{name}"' for name, _ in raw_columns(src)[: -len(LINEAGE_COLUMNS)])
    stage3 = f"""
        CREATE OR REPLACE TEMP TABLE {norm_table(src)} AS
        WITH {stage1}, typed AS NOT MATERIALIZED ({stage2})
        SELECT _fid, source_row, {raw_names}, _dup_of, _h,
            -- Only a set-aside row needs its original values (CASE evaluates the JSON for
            -- those rows alone: building it for every row cost half of stage 2).
            CASE WHEN _reason IS NOT NULL THEN {original_sql} END AS _original, _reason, _detail
        FROM (SELECT *,
            CASE
                WHEN _blank THEN 'blank_row'
                WHEN _total THEN 'total_row'
                WHEN _dup_of < source_row THEN 'exact_duplicate_row'
                WHEN _missing <> '' THEN 'missing_required_value'
                WHEN _problems <> '' THEN 'unparseable_value'
            END AS _reason,
            CASE
                WHEN _blank THEN 'blank row'
                WHEN _total THEN 'total (合计) row'
                WHEN _dup_of < source_row THEN 'exact duplicate of row ' || _dup_of
                WHEN _missing <> '' THEN 'required value empty: ' || _missing
                WHEN _problems <> '' THEN _problems
            END AS _detail
        FROM (SELECT *, {missing_sql} AS _missing, {problems_sql} AS _problems FROM typed))
    """
    return [stage3]
