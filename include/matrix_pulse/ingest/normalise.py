"""Value normalisation as DuckDB SQL macros over all-VARCHAR staging columns.

Every landed value is read as text first and normalised here, in SQL, one statement per
file: a Python loop per cell would cost minutes on a quarter of backlog. Each macro returns
NULL both for "unknown" ('-' / empty) and for "unparseable"; ``mp_present`` tells the two
apart so the loader can set unparseable rows aside instead of silently loading NULLs.

Times are Asia/Shanghai local wall-clock (naive TIMESTAMP): China has had no DST since
1991, so unix seconds + 8 h is exact and needs no time-zone database.
"""

from __future__ import annotations

import duckdb

# Full-width digits/punctuation (Excel on a Chinese PC, copy-paste from WeChat) and the
# ideographic / no-break spaces fold to ASCII before anything else looks at a value.
_FULLWIDTH = "０１２３４５６７８９．，：％－＋／　\u00a0"
_ASCII = "0123456789.,:%-+/  "

# A phone in free text: 1[3-9]x and 8 digits, maybe +86/0086 before, a space or dash
# between the 3-4-4 groups (groups: 1 before, 3/4/5 the digits, 6 after).
_PHONE_IN_TEXT = r"(^|[^0-9])((?:\+?86|0086)[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})([^0-9]|$)"
# An 18-digit resident ID: 6-digit region, a birth date 18xx-20xx, 3 digits and a check digit or X.
_ID_IN_TEXT = (
    r"(^|[^0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx]([^0-9Xx]|$)"
)

# The same in full-width digits (１３８１２３４５６７８ typed with a Chinese IME), with ＋, －
# and the ideographic space: free text is scrubbed as written, never folded (a title keeps its
# width), so each width has its own pattern; a number mixing both widths is not caught.
_PHONE_IN_TEXT_FW = (
    r"(^|[^0-9０-９])((?:＋?８６|００８６)[　－ -]?)?(１[３-９][０-９])[　－ -]?([０-９]{4})[　－ -]?"
    r"([０-９]{4})([^0-9０-９]|$)"
)
_ID_IN_TEXT_FW = (
    r"(^|[^0-9０-９])[１-９][０-９]{5}(?:１８|１９|２０)[０-９]{2}(?:０[１-９]|１[０-２])"
    r"(?:０[１-９]|[１２][０-９]|３[０１])[０-９]{3}[０-９XxＸｘ]([^0-9０-９XxＸｘ]|$)"
)
# A run of ASCII digits ends at a full-width one too (and the other way round).
_PHONE_IN_TEXT = _PHONE_IN_TEXT.replace("[^0-9]", "[^0-9０-９]")
_ID_IN_TEXT = _ID_IN_TEXT.replace("[^0-9Xx]", "[^0-9０-９XxＸｘ]").replace("(^|[^0-9])", "(^|[^0-9０-９])")

# The *_f macros take text already folded by mp_fold (the loader materialises that once
# per file): DuckDB inlines macros, so folding inside each of them would multiply the
# expression tree and the bind time. The unsuffixed forms fold first, for ad-hoc use.
MACROS: tuple[str, ...] = (
    # translate() is slow (it rebuilds its map per value): only values that hold a
    # full-width character pay for it; the regex test is ~6x cheaper, and cheaper still is
    # skipping it for pure-ASCII text (bytes = characters), which has no full-width ones.
    f"""CREATE OR REPLACE MACRO mp_fold(s) AS
        nullif(trim(CASE WHEN strlen(CAST(s AS VARCHAR)) <> length(CAST(s AS VARCHAR))
                              AND regexp_matches(CAST(s AS VARCHAR), '[{_FULLWIDTH}]')
                         THEN translate(CAST(s AS VARCHAR), '{_FULLWIDTH}', '{_ASCII}')
                         ELSE CAST(s AS VARCHAR) END), '')""",
    # Tokens that mean "the platform does not know": NULL, never zero. list_contains, not IN: an
    # IN list in a projection becomes a join that looks up every row's value before any CASE
    # has chosen its branch (douyin's first national chunk: 17.5 -> 15.5 CPU-s, with the
    # loader testing a cell for these tokens only where its typed value is NULL).
    """CREATE OR REPLACE MACRO mp_unknown_f(t) AS
        coalesce(list_contains(['-', '--', '—', '/', 'null', 'none', 'nan', 'n/a', '无'], lower(t)), TRUE)""",
    # Counts: 1.2万 / 3.4w / 1,234 / 10万+ (a lower bound) / 1.5亿.
    """CREATE OR REPLACE MACRO mp_count_parts(t) AS
        regexp_extract(replace(replace(t, ',', ''), ' ', ''),
                       '^([0-9]+(?:\\.[0-9]+)?)(万|w|W|亿)?(\\+)?$', ['num', 'unit', 'plus'])""",
    """CREATE OR REPLACE MACRO mp_count_scaled(p) AS CASE
        WHEN p.num = '' THEN NULL
        -- TRY_CAST: a count beyond BIGINT (a 20-digit cell) is unparseable and set aside with
        -- its row, instead of failing the whole chunk's statement
        ELSE TRY_CAST(round(CAST(p.num AS DOUBLE)
                   * CASE p.unit WHEN '' THEN 1 WHEN '亿' THEN 100000000 ELSE 10000 END) AS BIGINT) END""",
    # Fast paths first: most cells are plain digits (or a plain timestamp), and one simple
    # regex test is far cheaper than the general parse (same result for those cells).
    """CREATE OR REPLACE MACRO mp_count_f(t) AS
        CASE WHEN regexp_full_match(t, '[0-9]{1,15}') THEN CAST(t AS BIGINT)
             WHEN mp_unknown_f(t) THEN NULL ELSE mp_count_scaled(mp_count_parts(t)) END""",
    """CREATE OR REPLACE MACRO mp_lower_bound_f(t) AS coalesce(ends_with(t, '+'), FALSE)""",
    # Rates: 23.5% / 0.235 / 23.5. A bare number above 1 is a percentage without its sign.
    """CREATE OR REPLACE MACRO mp_rate_scaled(v, pct) AS CASE WHEN pct OR v > 1 THEN v / 100 ELSE v END""",
    """CREATE OR REPLACE MACRO mp_rate_f(t) AS CASE WHEN mp_unknown_f(t) THEN NULL ELSE
        mp_rate_scaled(TRY_CAST(replace(rtrim(t, '%'), ' ', '') AS DOUBLE), ends_with(t, '%')) END""",
    # Durations: 00:01:35 / 01:35 / 95 / 95s / 1分35秒 / 1小时2分 -> seconds.
    """CREATE OR REPLACE MACRO mp_hms(p) AS CASE
        WHEN len(p) = 3 THEN TRY_CAST(p[1] AS DOUBLE) * 3600 + TRY_CAST(p[2] AS DOUBLE) * 60 + TRY_CAST(p[3] AS DOUBLE)
        WHEN len(p) = 2 THEN TRY_CAST(p[1] AS DOUBLE) * 60 + TRY_CAST(p[2] AS DOUBLE) END""",
    """CREATE OR REPLACE MACRO mp_cn_duration(p) AS CASE
        WHEN p.h = '' AND p.m = '' AND p.s = '' THEN NULL
        ELSE coalesce(TRY_CAST(p.h AS DOUBLE), 0) * 3600 + coalesce(TRY_CAST(p.m AS DOUBLE), 0) * 60
             + coalesce(TRY_CAST(p.s AS DOUBLE), 0) END""",
    """CREATE OR REPLACE MACRO mp_duration_f(t) AS CASE
        WHEN regexp_full_match(t, '[0-9]{1,15}') THEN CAST(t AS DOUBLE)
        WHEN mp_unknown_f(t) THEN NULL
        WHEN regexp_full_match(t, '[0-9]+(:[0-9]{1,2}){1,2}(\\.[0-9]+)?') THEN mp_hms(string_split(t, ':'))
        ELSE mp_cn_duration(regexp_extract(replace(t, ' ', ''),
            '^(?:([0-9]+)(?:小时|时|h))?(?:([0-9]+)(?:分钟|分|m|min))?(?:([0-9.]+)(?:秒|s)?)?$', ['h', 'm', 's']))
        END""",
    # Times: ISO, 2026/7/1 9:05, 2026年7月1日 9:05, unix seconds (or ms), Excel serial days.
    """CREATE OR REPLACE MACRO mp_time_from_number(v, t) AS CASE
        -- beyond ~year 5000 in ms it is no time at all: NULL (set aside), never an overflow error
        WHEN v >= 1e14 THEN NULL
        WHEN v >= 1e11 THEN TIMESTAMP '1970-01-01 08:00:00' + to_milliseconds(round(v)::BIGINT)
        WHEN v >= 1e8 THEN TIMESTAMP '1970-01-01 08:00:00' + to_seconds(round(v)::BIGINT)
        WHEN v BETWEEN 20000 AND 80000 THEN TIMESTAMP '1899-12-30 00:00:00' + to_seconds(round(v * 86400)::BIGINT)
        WHEN regexp_full_match(t, '(19|20)[0-9]{6}') THEN try_strptime(t, '%Y%m%d')
        END""",
    """CREATE OR REPLACE MACRO mp_time_f(t) AS CASE
        WHEN regexp_full_match(t, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}') THEN TRY_CAST(t AS TIMESTAMP)
        WHEN mp_unknown_f(t) THEN NULL
        WHEN TRY_CAST(t AS DOUBLE) IS NOT NULL THEN mp_time_from_number(TRY_CAST(t AS DOUBLE), t)
        WHEN regexp_matches(t, '(Z|[+-][0-9]{2}:?[0-9]{2})$')
            THEN timezone('Asia/Shanghai', TRY_CAST(t AS TIMESTAMPTZ))
        ELSE try_strptime(regexp_replace(t, '\\s+', ' ', 'g'), [
            '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M:%S',
            '%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M',
            '%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y.%m.%d %H:%M', '%Y.%m.%d %H:%M:%S',
            '%Y年%m月%d日 %H:%M:%S', '%Y年%m月%d日 %H:%M', '%Y年%m月%d日'])
        END""",
    "CREATE OR REPLACE MACRO mp_date_f(t) AS CAST(mp_time_f(t) AS DATE)",
    # Money in yuan: 1,200.50 / ¥1200 / 1.2万 元.
    """CREATE OR REPLACE MACRO mp_money_scaled(x) AS CASE
        WHEN ends_with(x, '万') THEN TRY_CAST(rtrim(x, '万') AS DOUBLE) * 10000 ELSE TRY_CAST(x AS DOUBLE) END""",
    """CREATE OR REPLACE MACRO mp_money_f(t) AS CASE WHEN mp_unknown_f(t) THEN NULL ELSE
        mp_money_scaled(regexp_replace(replace(t, ',', ''), '[¥￥元\\s]', '', 'g')) END""",
    # An ID that Excel turned into a float keeps its digits only ('123.0' -> '123').
    """CREATE OR REPLACE MACRO mp_id_f(t) AS regexp_replace(t, '^([0-9]+)\\.0+$', '\\1')""",
    # Phones: +86 138 1234 5678 / 138-1234-5678 / 0086... -> 11 digits; junk stays junk.
    """CREATE OR REPLACE MACRO mp_phone_digits(s) AS
        regexp_replace(regexp_replace(mp_fold(s), '[\\s\\-().（）]', '', 'g'), '^(\\+?86|0086)(1[0-9]{10})$', '\\2')""",
    # The *_d forms take the digits already extracted (the loader extracts them once per
    # cell: inlined, each use of mp_phone_digits repeats its two regex replaces).
    """CREATE OR REPLACE MACRO mp_phone_valid_d(d) AS coalesce(regexp_full_match(d, '1[3-9][0-9]{9}'), FALSE)""",
    """CREATE OR REPLACE MACRO mp_phone_masked_d(d) AS CASE
        WHEN mp_phone_valid_d(d) THEN substr(d, 1, 3) || '****' || substr(d, 8, 4) END""",
    # HMAC-SHA256 (RFC 2104) of the text's UTF-8 bytes, hex: the pads come from pii.hmac_pads
    # as parameters (the key is never part of a macro or a table). encode(), not a cast to
    # BLOB: a cast would read backslash escapes in the text.
    """CREATE OR REPLACE MACRO mp_hmac_sha256(ipad, opad, s) AS
        sha256(opad || unhex(sha256(ipad || encode(CAST(s AS VARCHAR)))))""",
    # Unfolded conveniences (tests, ad-hoc SQL).
    "CREATE OR REPLACE MACRO mp_phone_is_valid(s) AS mp_phone_valid_d(mp_phone_digits(s))",
    "CREATE OR REPLACE MACRO mp_phone_masked(s) AS mp_phone_masked_d(mp_phone_digits(s))",
    "CREATE OR REPLACE MACRO mp_present(s) AS NOT mp_unknown_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_count(s) AS mp_count_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_is_lower_bound(s) AS mp_lower_bound_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_rate(s) AS mp_rate_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_duration(s) AS mp_duration_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_time(s) AS mp_time_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_date(s) AS mp_date_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_money(s) AS mp_money_f(mp_fold(s))",
    "CREATE OR REPLACE MACRO mp_id(s) AS mp_id_f(mp_fold(s))",
    # Free text as written: only surrounding blanks go (ASCII, ideographic, no-break);
    # full-width punctuation (，：（）…) and digits inside the text stay as the author typed them.
    "CREATE OR REPLACE MACRO mp_text(s) AS nullif(trim(CAST(s AS VARCHAR), ' \t\r\n\u3000\u00a0'), '')",
    # PII typed into free text (a phone in a post title, an ID number in a defeat reason) is
    # masked before anything is stored: phones as 138****5678 (the contract's display form),
    # 18-digit resident IDs wholly. A longer digit run (a 19-digit post ID) is left alone:
    # each pattern needs a non-digit (or the end) on both sides. Applied twice, as two
    # matches next to each other share the one separator between them.
    f"""CREATE OR REPLACE MACRO mp_pii_scrub_once(s) AS
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(s,
            '{_PHONE_IN_TEXT}', '\\1\\3****\\5\\6', 'g'), '{_ID_IN_TEXT}', '\\1******************\\2', 'g'),
            '{_PHONE_IN_TEXT_FW}', '\\1\\3****\\5\\6', 'g'), '{_ID_IN_TEXT_FW}', '\\1******************\\2', 'g')""",
    # Most cells hold no 8-digit run (of either width) at all: they skip the patterns.
    """CREATE OR REPLACE MACRO mp_pii_scrub(s) AS CASE
        WHEN regexp_matches(s, '[0-9０-９]{4}[ 　－-]?[0-9０-９]{4}') THEN mp_pii_scrub_once(mp_pii_scrub_once(s))
        ELSE s END""",
    # Single-quoted value for error details: unknown content, so at most 32 characters of it,
    # control characters shown as '?' (issue 14; landing_guard.excerpt does the same in Python).
    """CREATE OR REPLACE MACRO quote_text(s) AS '''' ||
        regexp_replace(left(mp_pii_scrub(CAST(s AS VARCHAR)), 32), '[\\x00-\\x1f\\x7f]', '?', 'g') || '''' ||
        CASE WHEN length(CAST(s AS VARCHAR)) > 32
             THEN '…(+' || (length(CAST(s AS VARCHAR)) - 32) || ' chars)' ELSE '' END""",
)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the normalisation macros on this connection (temporary: not stored in the file)."""
    for sql in MACROS:
        con.execute(sql.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))


def typed_expression(kind: str, folded: str) -> str:
    """SQL turning the *folded* VARCHAR column ``folded`` into the raw type for ``kind``."""
    return {
        "id": f"mp_id_f({folded})",
        "text": f"mp_text({folded})",  # the loader passes the text as delivered here, not folded
        "code": folded,
        "count": f"mp_count_f({folded})",
        "count_lb": f"mp_count_f({folded})",
        "rate": f"mp_rate_f({folded})",
        "duration": f"mp_duration_f({folded})",
        "time": f"mp_time_f({folded})",
        "unix": f"mp_time_f({folded})",
        "date": f"mp_date_f({folded})",
        "money": f"mp_money_f({folded})",
        "number": f"CASE WHEN mp_unknown_f({folded}) THEN NULL ELSE TRY_CAST(replace({folded}, ',', '') AS DOUBLE) END",
    }[kind]
