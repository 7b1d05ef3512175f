"""The cleaning rules of cleaning.py as SQL expressions, for files staged by COPY (PostgreSQL only).

Each rule here must give exactly what its Python twin gives (tests/customers/test_import_staged.py imports the
same files both ways and compares every table): values are stripped of what str.strip() strips, `="…"` is
unwrapped, `null` is empty, ids are ASCII digits, money is canonical 'units.cents' text, dates are canonical
'YYYY-MM-DD HH:MM:SS' shop-local text. The rare spellings (dates like 2024/1/5 9:05, money like 1,5元) go
through small PL/pgSQL functions; the common ones are decided by one regular expression each.
"""

from django.db import connection

from ..formats.cleaning import MISSING_DATES
from ..formats.columns import Field

# Every character str.strip() removes (none above U+3000), as one SQL string literal.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_WS = "'" + WHITESPACE + "'"

SCIENTIFIC = r"^[+-]?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$"
_MISSING = ", ".join(f"'{v}'" for v in sorted(MISSING_DATES))

REASONS = {
    "scientific": "the id is in scientific notation (mangled by Excel) and cannot be recovered",
    "id": "not a valid id (digits only)",
    "money": "not an amount of money",
    "negative": "a negative amount is not valid here",
    "int": "not a whole number",
    "datetime": "not a valid date and time",
    "required": "this value is required",
}

# Session-local helpers for the rare spellings; created before each staged import (cheap, idempotent).
FUNCTIONS = [
    r"""
    CREATE OR REPLACE FUNCTION pg_temp.huike_datetime(v text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE
        m text[] := regexp_match(
            v, '^([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2}))?)?$'
        );
        y int; mo int; d int; h int; mi int; s int;
    BEGIN
        IF m IS NULL THEN RETURN NULL; END IF;
        y := m[1]::int; mo := m[2]::int; d := m[3]::int;
        h := coalesce(m[4], '0')::int; mi := coalesce(m[5], '0')::int; s := coalesce(m[6], '0')::int;
        IF y < 1 OR mo < 1 OR mo > 12 OR d < 1 OR h > 23 OR mi > 59 OR s > 59 THEN RETURN NULL; END IF;
        IF d > extract(day FROM make_date(y, mo, 1) + interval '1 month' - interval '1 day') THEN RETURN NULL; END IF;
        RETURN lpad(y::text, 4, '0') || '-' || lpad(mo::text, 2, '0') || '-' || lpad(d::text, 2, '0') || ' '
            || lpad(h::text, 2, '0') || ':' || lpad(mi::text, 2, '0') || ':' || lpad(s::text, 2, '0');
    END $$
    """,
    rf"""
    CREATE OR REPLACE FUNCTION pg_temp.huike_money(v text, OUT amount text, OUT reason text)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE
        t text := btrim(replace(replace(replace(v, '元', ''), '¥', ''), '￥', ''), {_WS});
        m text[] := regexp_match(t, '^(-?)([0-9]{{1,12}})(?:\.([0-9]{{1,2}})0*)?$');
    BEGIN
        IF m IS NULL THEN reason := '{REASONS["money"]}'; RETURN; END IF;
        IF m[1] = '-' AND (m[2]::bigint <> 0 OR coalesce(nullif(m[3], ''), '0')::int <> 0) THEN
            reason := '{REASONS["negative"]}'; RETURN;
        END IF;
        amount := m[2]::bigint::text || '.' || rpad(coalesce(m[3], ''), 2, '0');
    END $$
    """,
]


def functions_create() -> None:
    with connection.cursor() as cursor:
        for statement in FUNCTIONS:
            cursor.execute(statement)


assert all(ord(c) <= 32 or 133 <= ord(c) <= 12288 for c in WHITESPACE)


def _surely_not_space(code: str) -> str:
    return f"({code} BETWEEN 33 AND 132 OR {code} > 12288)"  # ASCII printable, and CJK and beyond


def stripped(expr: str) -> str:
    """str.strip() of `expr` (evaluated up to three times: pass a column or a cheap expression). Most values have
    nothing to strip: two range checks of their end characters cost far less than btrim() with this many
    characters, which the others get."""
    first, last = f"ascii({expr})", f"ascii(right({expr}, 1))"
    both = f"{_surely_not_space(first)} AND {_surely_not_space(last)}"
    return f"(CASE WHEN {both} THEN {expr} ELSE btrim({expr}, {_WS}) END)"


def base_stripped(raw: str) -> str:
    """The field stripped, and a `="…"` the COPY pass marked (recordpass.FORMULA_MARK) unwrapped and stripped."""
    return f"(CASE WHEN ascii({raw}) = 1 THEN {stripped(f'substr({raw}, 2)')} ELSE {stripped(raw)} END)"


def raw_shown(raw: str) -> str:
    """The field as an error shows it: stripped, a marked formula spelled `="…"` again."""
    return f"(CASE WHEN ascii({raw}) = 1 THEN '=\"' || substr({raw}, 2) || '\"' ELSE {stripped(raw)} END)"


def special(raws: list[str]) -> str:
    """Whether a row has any value that base text might still change after the strip: a quoted `="…"`, the
    word null, a carriage return. Rare: every other row skips those rules."""
    joined = " || ".join(raws)
    tests = ["'=\"'", "'null'", "'NULL'", "'Null'", "E'\\r'"]
    return "(" + " OR ".join(f"strpos({joined}, {t}) > 0" for t in tests) + ")"


def picked(columns: list[str]) -> str:
    """The raw text of a field found under several headers: the first non-blank one, as reading._pick does."""
    *firsts, last = [f"coalesce({c}, '')" for c in columns]
    if not firsts:
        return last
    cases = " ".join(f"WHEN {stripped(c)} <> '' THEN {c}" for c in firsts)
    return f"(CASE {cases} ELSE {last} END)"


_NULLS = "('null', 'NULL', 'Null')"


def unwrapped(s: str) -> str:
    """cleaning.base_column after the strip, over a stripped column `s`: unwrap `="…"` (when no quote is inside),
    `null` → '', CRLF → LF. The common value (no `=`, no `null`, no CR) costs three cheap tests."""
    inner = f"substr({s}, 3, greatest(length({s}) - 3, 0))"
    unwrap = (
        f"CASE WHEN left({s}, 2) = '=\"' AND right({s}, 1) = '\"' AND strpos({inner}, '\"') = 0 "
        f"THEN {stripped(inner)} ELSE {s} END"
    )
    full = f"replace(CASE WHEN ({unwrap}) IN {_NULLS} THEN '' ELSE ({unwrap}) END, E'\\r\\n', E'\\n')"
    plain = f"left({s}, 1) <> '=' AND {s} NOT IN {_NULLS} AND strpos({s}, E'\\r') = 0"
    return f"(CASE WHEN {plain} THEN {s} ELSE {full} END)"


def _digits(v: str, low: int, high: int, also: str = "") -> str:
    return f"(octet_length({v}) BETWEEN {low} AND {high} AND ltrim({v}, '0123456789{also}') = '')"


def _valid_day(v: str) -> str:
    """The day of a canonical-looking 'YYYY-MM-DD …' exists in its month (leap years included)."""
    day, month, year = f'substr({v}, 9, 2) COLLATE "C"', f'substr({v}, 6, 2) COLLATE "C"', f"left({v}, 4)::integer"
    leap = f"({year} % 4 = 0 AND ({year} % 100 <> 0 OR {year} % 400 = 0))"
    return (
        f"(CASE WHEN {day} BETWEEN '01' AND '28' THEN true WHEN {day} NOT BETWEEN '29' AND '31' THEN false "
        f"WHEN {month} = '02' THEN {day} = '29' AND {leap} "
        f"WHEN {day} = '31' THEN {month} IN ('01', '03', '05', '07', '08', '10', '12') ELSE true END)"
    )


def fast_check(field: Field, v: str) -> str | None:
    """A boolean over base text `v`: the value is already canonical and valid (the common case), or None for
    types without one. String functions, not regular expressions: four times cheaper per value."""
    if field.type == "id":
        return _digits(v, 1, 32)
    if field.type == "int":
        return _digits(v, 1, 9)
    if field.type == "money":  # ^(0|[1-9][0-9]{0,11})\.[0-9]{2}$
        return (
            f"({_digits(v, 4, 15, '.')} AND strpos({v}, '.') = octet_length({v}) - 2 "
            f"AND strpos(right({v}, 2), '.') = 0 AND (left({v}, 1) <> '0' OR octet_length({v}) = 4))"
        )
    if field.type == "datetime":  # DATETIME_CANONICAL, a real day, a year after 0000
        c = 'COLLATE "C"'
        return (
            f"(octet_length({v}) = 19 AND translate({v}, '123456789', '000000000') = '0000-00-00 00:00:00' "
            f"AND left({v}, 4) {c} > '0000' AND substr({v}, 6, 2) {c} BETWEEN '01' AND '12' "
            f"AND substr({v}, 12, 2) {c} <= '23' AND substr({v}, 15, 1) {c} <= '5' AND substr({v}, 18, 1) {c} <= '5' "
            f"AND {_valid_day(v)})"
        )
    return None


def value(field: Field, v: str, fast: str | None) -> str:
    """The cleaned value of base text `v`, given its fast_check column `fast`: NULL when unknown or bad."""
    if field.type == "money":
        return f"(CASE WHEN {v} = '' THEN NULL WHEN {fast} THEN {v} ELSE (pg_temp.huike_money({v})).amount END)"
    if field.type == "int":
        return f"(CASE WHEN {fast} THEN {v}::integer END)"
    if field.type == "datetime":
        return (
            f"(CASE WHEN {v} = '' OR {v} IN ({_MISSING}) THEN NULL WHEN {fast} THEN {v} "
            f"ELSE pg_temp.huike_datetime({v}) END)"
        )
    if field.type == "phone":
        return stripped(f"ltrim({v}, chr(39))")
    if field.type in ("id", "text"):
        return v
    raise ValueError(f"no SQL cleaning for {field.type} fields")  # bool: refunds, never staged


def type_reason(field: Field, v: str, fast: str | None) -> str | None:
    """Why base text `v` is not a valid value of its type (NULL when it is), or None for types that cannot fail."""
    if field.type == "id":
        return (
            f"(CASE WHEN {v} = '' OR {fast} THEN NULL WHEN {v} ~ '{SCIENTIFIC}' "
            f"THEN '{REASONS['scientific']}' ELSE '{REASONS['id']}' END)"
        )
    if field.type == "money":
        return f"(CASE WHEN {v} = '' OR {fast} THEN NULL ELSE (pg_temp.huike_money({v})).reason END)"
    if field.type == "int":
        return f"(CASE WHEN {v} = '' OR {fast} THEN NULL ELSE '{REASONS['int']}' END)"
    if field.type == "datetime":
        return (
            f"(CASE WHEN {v} = '' OR {fast} OR {v} IN ({_MISSING}) THEN NULL "
            f"WHEN pg_temp.huike_datetime({v}) IS NULL THEN '{REASONS['datetime']}' END)"
        )
    return None


def reason(field: Field, v: str, fast: str | None, cleaned: str) -> str | None:
    """The reason of the field's first problem (type, else required), like cleaning.clean_column."""
    typed = type_reason(field, v, fast)
    required = f"(CASE WHEN {cleaned} IS NULL OR {cleaned}::text = '' THEN '{REASONS['required']}' END)"
    if typed and field.required:
        return f"coalesce({typed}, {required})"
    return typed or (required if field.required else None)


def length_reason(field: Field, cleaned: str) -> str | None:
    if not field.max_length:
        return None
    return f"(CASE WHEN length({cleaned}) > {field.max_length} THEN 'longer than {field.max_length} characters' END)"


# --- the fast row: every value canonical already ---------------------------------------------------------------------
#
# In an export straight from the seller centre nearly every row is clean: no spaces to strip, no `null`, every
# id, amount and date already canonical. One regular expression over the whole row (and one per type) proves
# that at a fraction of the cost of the per-field rules above; the rows it cannot prove go through those rules.

SEP = "chr(2)"  # between the values of a row; not whitespace, never in an export
_SPACE_CLASS = "[" + WHITESPACE + "]"
# A value with whitespace at an end, the word null, a CR, a quoted `="…"`, or a formula mark outside an id.
_NOT_PLAIN = f"\\x02{_SPACE_CLASS}|{_SPACE_CLASS}\\x02|=\"|null|NULL|Null|\\r|\\x01"
_DAY = "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
# Per type, the canonical spelling as one pattern over all of the row's values of that type (ids and dates are
# checked value by value below: a counted repetition like [0-9]{1,32} costs PostgreSQL's regex engine far more
# than string functions do).
_CANONICAL = {
    "money": "(?:0|[1-9][0-9]{0,11})\\.[0-9]{2}",
    "int": "[0-9]{1,9}",
}
# Every month-day of a year but Feb 29 (which goes the slow way, where the year is checked).
_MONTH_DAYS = ", ".join(
    f"'{m:02d}-{d:02d}'" for m, days in enumerate((31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
    for d in range(1, days + 1)
)


def _fast_id(v: str) -> str:  # empty, or 1-32 digits (after recordpass.FORMULA_MARK)
    return f"(octet_length(ltrim({v}, chr(1))) <= 32 AND ltrim(ltrim({v}, chr(1)), '0123456789') = '')"


def _fast_datetime(v: str) -> str:  # empty, or a canonical, existing 'YYYY-MM-DD HH:MM:SS' after year 0000
    c = 'COLLATE "C"'
    return (
        f"({v} = '' OR (octet_length({v}) = 19 "
        f"AND translate({v}, '123456789', '000000000') = '0000-00-00 00:00:00' AND left({v}, 4) {c} > '0000' "
        f"AND substr({v}, 6, 5) IN ({_MONTH_DAYS}) AND substr({v}, 12, 2) {c} <= '23' "
        f"AND substr({v}, 15, 1) {c} <= '5' AND substr({v}, 18, 1) {c} <= '5'))"
    )


def fast_row(fields: list[Field], values: dict[str, str], aliases: dict[str, list[str]]) -> str:
    """A boolean: the row's values (`values`: field name → raw text expression; `aliases`: field name → its
    other columns' raw text) are all plain and canonical, and every required value is there."""
    every = {f.name: [values[f.name], *aliases.get(f.name, [])] for f in fields}
    plain = [v for f in fields if f.type != "id" for v in every[f.name]]
    tests = [f"({SEP} || concat_ws({SEP}, {', '.join(plain)}) || {SEP}) !~ '{_NOT_PLAIN}'"] if plain else []
    for kind, pattern in _CANONICAL.items():
        typed = [v for f in fields if f.type == kind for v in every[f.name]]
        if typed:
            tests.append(f"concat_ws({SEP}, {', '.join(typed)}) ~ '^(?:{pattern})?(?:\\x02(?:{pattern})?)*$'")
    for f in fields:
        for v in every[f.name]:
            if f.type == "id":
                tests.append(_fast_id(v))
            elif f.type == "datetime":
                tests.append(_fast_datetime(v))
        if f.required:
            tests.append(f"ltrim({values[f.name]}, chr(1)) <> ''")
        if f.max_length:
            tests.append(f"octet_length({values[f.name]}) <= {f.max_length}")
    return " AND ".join(tests) or "true"


def fast_value(field: Field, raw: str) -> str:
    """The cleaned value of a field in a fast row."""
    if field.type == "id":
        return f"ltrim({raw}, chr(1))"
    if field.type in ("money", "datetime"):
        return f"nullif({raw}, '')"
    if field.type == "int":  # guarded: in a row that is not fast the cast could fail
        return f"(CASE WHEN {_digits(raw, 1, 9)} THEN {raw}::integer END)"
    if field.type == "phone":
        return stripped(f"ltrim({raw}, chr(39))")
    return raw
