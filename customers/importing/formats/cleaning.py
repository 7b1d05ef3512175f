"""Cleaning raw export text into exact values, column by column, with one error per bad cell.

Rules (see docs/taobao-exports.md):
- every value is stripped of spaces and tabs; `=""`, `""` and the literal `null` are empty; `="123"` (Excel's
  keep-as-text formula) is unwrapped. Any other formula-like text (`=HYPERLINK(...)`, `+86...`, `@SUM`) is data
  and is kept verbatim: neutralising it is the job of whatever writes a spreadsheet, not of the importer.
- ids are text made of digits, never numbers: an id in scientific notation was mangled by Excel and cannot be
  recovered, so the row is rejected.
- dates are shop local time (Asia/Shanghai): `yyyy-MM-dd HH:mm:ss`, `yyyy/M/d H:mm[:ss]`, or a bare date;
  `0000-00-00 00:00:00` means missing; anything else (2024-02-30 25:61:00) is a row error.
- money is a Decimal with at most two decimals, an optional `元` (or ¥) around it; blank is unknown (NULL), never 0;
  a negative amount is a row error.
- masked values (`138****1234`, `张**`) are kept as they are; line breaks inside a value are stored as LF.
"""

import re
from datetime import datetime

from .columns import FIELDS, Field

# ASCII digits only (re.ASCII): a full-width １２３ is no Taobao id, and sqlclean.py's SQL twins agree.
_ID = re.compile(r"\d{1,32}", re.ASCII)
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d+)?[eE][+-]?\d+", re.ASCII)
_MONEY = re.compile(r"(-?)(\d{1,12})(?:\.(\d{1,2})0*)?", re.ASCII)
_INT = re.compile(r"\d{1,9}", re.ASCII)
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?", re.ASCII)
MISSING_DATES = {"0000-00-00 00:00:00", "0000-00-00", "0000/00/00 00:00", "0000-00-00 00:00"}
_TRUE = {"是", "1", "true", "True", "Y", "y", "yes"}
_FALSE = {"否", "0", "false", "False", "N", "n", "no"}


def base_text(value: str) -> str:
    """Strip, unwrap `="…"`, and turn the export's spellings of "empty" into ''."""
    v = value.strip()
    if v and v[0] in "=nN":
        if v.startswith('="') and v.endswith('"') and len(v) >= 3 and '"' not in v[2:-1]:
            return v[2:-1].strip()
        if v in ("null", "NULL", "Null"):
            return ""
    return v


def clean_id(v: str) -> tuple[str, str | None]:
    if not v:
        return "", None
    if _ID.fullmatch(v):
        return v, None
    if _SCIENTIFIC.fullmatch(v):
        return v, "the id is in scientific notation (mangled by Excel) and cannot be recovered"
    return v, "not a valid id (digits only)"


def clean_money(v: str) -> tuple[str | None, str | None]:
    if not v:
        return None, None
    text = v.replace("元", "").replace("¥", "").replace("￥", "").strip()
    match = _MONEY.fullmatch(text)
    if not match:
        return None, "not an amount of money"
    sign, whole, cents = match.groups()
    if sign and (int(whole) or int(cents or 0)):
        return None, "a negative amount is not valid here"
    return f"{int(whole)}.{(cents or '').ljust(2, '0')}", None


def clean_int(v: str) -> tuple[int | None, str | None]:
    if not v:
        return None, None
    if _INT.fullmatch(v):
        return int(v), None
    return None, "not a whole number"


def clean_datetime(v: str) -> tuple[str | None, str | None]:
    """A local (Asia/Shanghai) timestamp as 'YYYY-MM-DD HH:MM:SS', or None when missing."""
    if not v or v in MISSING_DATES:
        return None, None
    match = _DATE.fullmatch(v)
    if not match:
        return None, "not a valid date and time"
    parts = [int(p) if p else 0 for p in match.groups()]
    try:
        return datetime(*parts).strftime("%Y-%m-%d %H:%M:%S"), None
    except ValueError:
        return None, "not a valid date and time"


def clean_phone(v: str) -> tuple[str, str | None]:
    return v.lstrip("'").strip(), None


def clean_bool(v: str) -> tuple[bool | None, str | None]:
    if not v:
        return None, None
    if v in _TRUE:
        return True, None
    if v in _FALSE:
        return False, None
    return None, "not yes or no"


_CLEANERS = {
    "id": clean_id,
    "money": clean_money,
    "int": clean_int,
    "datetime": clean_datetime,
    "phone": clean_phone,
    "bool": clean_bool,
}


_NULLS = {"null", "NULL", "Null"}


def _column_fast(pattern: str) -> re.Pattern:
    """A pattern matching a whole column joined by newlines when every value is already canonical or empty: one
    C-level match per column instead of a Python call per value (a million rows per file)."""
    return re.compile(f"(?:{pattern})?(?:\n(?:{pattern})?)*", re.ASCII)


_FAST = {
    "id": _column_fast(r"\d{1,32}"),
    "money": _column_fast(r"(?:0|[1-9]\d{0,11})\.\d\d"),  # canonical only: no leading zeros
    "int": _column_fast(r"\d{1,9}"),
    "datetime": _column_fast(  # not year 0000, which datetime() refuses
        r"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    ),
}


_SPACE = re.compile(r"\s")  # what str.strip() removes


def base_column(raw: list[str]) -> list[str]:
    """base_text() over a column, with the common cases done without a Python call per value: a column with no
    whitespace at all (ids, amounts, most codes) is not stripped value by value."""
    joined = "\x00".join(raw)
    if _SPACE.search(joined):
        values = [v.strip() for v in raw]
        joined = "\x00".join(values)
    else:
        values = list(raw)
    if '="' in joined:
        values = [v[2:-1].strip() if v[:2] == '="' and v[-1:] == '"' and '"' not in v[2:-1] else v for v in values]
    if "null" in joined or "NULL" in joined or "Null" in joined:
        values = ["" if v in _NULLS else v for v in values]
    if "\r" in joined:  # a quoted multi-line value: CRLF in CSV, LF in Excel; keep one spelling
        values = [v.replace("\r\n", "\n") for v in values]
    return values


def _fast_typed(kind: str, values: list[str]) -> list | None:
    """The typed column when every value is canonical already, else None (then each value is checked)."""
    pattern = _FAST.get(kind)
    if pattern is None:
        return None
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1 or not pattern.fullmatch(joined):
        return None
    if kind == "int":
        return [int(v) if v else None for v in values]
    if kind == "datetime":  # the pattern checks ranges; days 29-31 also need the month checked
        for v in values:
            if v and v[8:10] >= "29" and clean_datetime(v)[1]:
                return None
    if kind == "id":
        return values
    return [v or None for v in values]


def clean_column(field: Field, raw: list[str]) -> tuple[list, list[tuple[int, str, str]]]:
    """Clean one column. Returns the values and [(row index, raw value, reason)] for the bad cells."""
    values = base_column(raw)
    problems: list[tuple[int, str, str]] = []
    cleaner = _CLEANERS.get(field.type)
    fast = _fast_typed(field.type, values) if cleaner is not None else None
    if fast is not None:
        values = fast
    elif field.type == "phone":
        values = [v.lstrip("'").strip() for v in values]
    elif cleaner is not None:
        cleaned = []
        for i, v in enumerate(values):
            value, reason = cleaner(v)
            if reason:
                problems.append((i, raw[i].strip(), reason))
            cleaned.append(value)
        values = cleaned
    if field.required:
        flagged = {i for i, _, _ in problems}
        problems.extend(
            (i, "", "this value is required") for i, v in enumerate(values) if v in ("", None) and i not in flagged
        )
    if field.max_length and values and max(map(len, values)) > field.max_length:
        problems.extend(
            (i, v[:60], f"longer than {field.max_length} characters")
            for i, v in enumerate(values)
            if len(v) > field.max_length
        )
    return values, problems


def clean_chunk(kind: str, raw: dict[str, list[str]], lines: list[int], *, file: str, headers: dict[str, str]):
    """Clean every known column of a chunk. Returns (columns of good rows, their lines, errors).

    A row with any bad cell is left out as a whole and each bad cell is reported with its line and column."""
    n = len(lines)
    columns: dict[str, list] = {}
    errors: list[dict] = []
    bad_rows: set[int] = set()
    for field in FIELDS[kind]:
        if field.name not in raw:
            columns[field.name] = [None if field.type in ("money", "int", "datetime", "bool") else ""] * n
            if field.required:
                bad_rows.update(range(n))
                errors.extend(_error(file, line, field.headers[0], "", "this column is missing") for line in lines)
            continue
        values, problems = clean_column(field, raw[field.name])
        columns[field.name] = values
        for i, value, reason in problems:
            bad_rows.add(i)
            errors.append(_error(file, lines[i], headers.get(field.name, field.headers[0]), value, reason))
    if bad_rows:
        keep = [i for i in range(n) if i not in bad_rows]
        columns = {name: [col[i] for i in keep] for name, col in columns.items()}
        lines = [lines[i] for i in keep]
    errors.sort(key=lambda e: e["line"])
    return columns, lines, errors


def _error(file: str, line: int, column: str, value: str, reason: str) -> dict:
    return {"file": file, "line": line, "column": column, "value": value, "reason": reason}
