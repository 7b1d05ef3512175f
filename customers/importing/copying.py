"""PostgreSQL only: a CSV export COPYed as it is into an all-text staging table, one row per record, each with the
line in the original file where it starts.

PostgreSQL's own CSV parser (and its GB18030 decoder) does the reading: far faster than pandas plus a Python call
per cell. What it cannot do, a pass over the raw bytes does on the way in: it numbers the records (a record spans
1 + the line breaks inside its quoted fields; a quote count per line tells where records start, since neither a
GBK/GB18030 trail byte nor a UTF-8 continuation byte is ever `"`, `,` or a line break), it leaves out blank
and comma-only lines (counted as skipped), and it hashes each record. The number goes in front of each record as
one more field, then the hash: `record_hash`, the md5 of the file's header line and the record's bytes as the
file has them (Order.source_hash: what a re-import compares). Python's md5 over the bytes it holds anyway costs
less than PostgreSQL's over the parsed fields (2 s against 5.6 s of CPU per 1M orders).

Anything COPY rejects (a row with another number of fields than the first one, an invalid byte, a stray quote)
raises NotStaged, and the caller reads the file the slow way, which reports such rows one by one.
"""

import csv
import hashlib
import re
from binascii import b2a_hex
from dataclasses import dataclass

import psycopg
from django.db import DatabaseError, connection, transaction

from .reading import ExportFile
from .sql import error_first_line

BLOCK_PIECES = 16384  # prefixes and lines handed to COPY per write
# A line whose fields are all empty or blank-in-quotes: `,,,`, `"","",""`, `" ",""`, an empty line.
_BLANK = re.compile(rb'[ \t]*(?:"[ \t]*"[ \t]*)?(?:,[ \t]*(?:"[ \t]*"[ \t]*)?)*\r?\n?')
_COPY_ENCODINGS = {"utf-8": "UTF8", "gb18030": "GB18030"}
# Excel's keep-as-text ids, `="2596105164972071964"` unquoted: PostgreSQL's CSV parser would drop those quotes
# (a quote opens a quoted section anywhere in a field), Python's keeps them. They are rewritten as the quoted
# field `"\x01" + the text inside`: a marker no export contains (a file that has one is not staged), which the
# SQL cleaning unwraps as cleaning.base_column does and turns back into `="…"` where an error shows the value.
# Every field follows a comma here (the line number is put in front of each record), so `,="` finds them with a
# plain search: a pattern per field position was ten times slower than COPY itself.
FORMULA_MARK = "\x01"
# What the rewrite must not meet, else the file is not staged (never wrongly, sometimes needlessly: text inside a
# quoted field can look like this too): a formula whose text holds a comma or is followed by more text, and any
# other formula with quotes in an unquoted field (`=HYPERLINK("…")`). Other unquoted fields with a quote inside
# come from no exporter we know: Excel and every CSV writer quote a field that holds a quote, and the seller
# centre quotes every field but these formulas.
_BAD_FORMULA = re.compile(rb'"\x01(?![^",\r\n]*"(?:,|\r?\n|$))')
_FORMULA_QUOTES = re.compile(rb',=[^",\r\n]*"')


class NotStaged(Exception):
    """The file cannot be COPYed as it is; the message says why (for the log)."""


@dataclass
class RawTable:
    name: str
    width: int  # fields per record: the header's, or one more (the 2017 宝贝报表's stray trailing comma)
    skipped: int  # blank and comma-only lines left out


def raw_table_create(export: ExportFile, name: str, *, only: bytearray | None = None) -> RawTable:
    """COPY the records of `export` into a new UNLOGGED table `name` (line integer, record_hash text,
    c0 … c<width-1> text). `only`: a byte per line of the file, true where a record to COPY starts (the others
    were imported before as they are: staged._skipped_find, which counted the blank lines); when it marks
    none, the file is not read again."""
    width = _record_width(export)
    columns = ", ".join(["line integer", "record_hash text", *(f"c{i} text" for i in range(width))])
    blanks = [0]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE UNLOGGED TABLE {name} ({columns})")
            encoding = _COPY_ENCODINGS[export.encoding]
            if only is not None and only.find(1) < 0:
                return RawTable(name, width, 0)
            with cursor.cursor.copy(f"COPY {name} FROM STDIN WITH (FORMAT csv, ENCODING '{encoding}')") as copy:
                for block in _numbered_records(export, blanks, only):
                    copy.write(block)
    except (DatabaseError, psycopg.Error) as exc:  # COPY's own errors come from psycopg unwrapped
        raise NotStaged(error_first_line(exc)) from None
    return RawTable(name, width, 0 if only is not None else blanks[0])


def _record_width(export: ExportFile) -> int:
    """The fields of the first data record: the header's width, or one more when that one is empty (2017)."""
    width = len(export.headers)
    with open(export.path, "rb") as raw:
        raw.read(export.bom)
        raw.readline()
        for line in raw:
            if _BLANK.fullmatch(line):
                continue
            try:
                fields = next(csv.reader([line.decode(export.encoding).rstrip("\r\n")]), [])
            except UnicodeDecodeError:
                raise NotStaged("invalid bytes in the first record") from None
            if len(fields) == width or (len(fields) == width + 1 and not fields[-1].strip()):
                return len(fields)
            raise NotStaged(f"the first record has {len(fields)} fields, the header {width}")
    raise NotStaged("no records")


def _records(export: ExportFile, blanks: list[int]):
    """(line number where it starts, bytes) of each record of the file; blank lines counted, not yielded. The loop
    is the COPY's own cost on the client: kept to a few operations per line."""
    blank_line = _BLANK.fullmatch
    with open(export.path, "rb") as raw:
        raw.read(export.bom)
        raw.readline()
        number = 1
        record: list[bytes] = []  # the lines of a record that spans several
        record_start = 0
        for line in raw:
            number += 1
            if record:
                record.append(line)
                if line.count(b'"') & 1:  # the record ends on this line
                    yield record_start, b"".join(record)
                    record = []
                continue
            first = line[:2]
            # Most records start with `"x` or a non-blank character: only the others can be blank lines.
            if (first[:1] in b' \t,\r\n' or first in (b'""', b'" ', b'"\t')) and blank_line(line):
                blanks[0] += 1
                continue
            if line.count(b'"') & 1:  # a quoted field goes on on the next line
                record, record_start = [line], number
                continue
            yield number, line
        if record:  # an unterminated quote: COPY reports it
            yield record_start, b"".join(record)


def _header_md5(export: ExportFile):
    """A function returning a new md5 that has hashed the file's header line: each record's hash starts there."""
    with open(export.path, "rb") as raw:
        raw.read(export.bom)
        return hashlib.md5(raw.readline(), usedforsecurity=False).copy


def _numbered_records(export: ExportFile, blanks: list[int], only: bytearray | None = None):
    """The file's records (or `only` those marked) as COPY input, each prefixed with its line number and hash."""
    md5 = _header_md5(export)
    out: list[bytes] = []
    for number, record in _records(export, blanks):
        if only is not None and not only[number]:
            continue
        digest = md5()
        digest.update(record)
        out.append(b"%d,%b," % (number, b2a_hex(digest.digest())))
        out.append(record)
        if len(out) >= BLOCK_PIECES:
            yield _quoted(b"".join(out))
            out = []
    if out:
        yield _quoted(b"".join(out))


# --- the keys of records, for finding those imported before as they are (staged._skipped_find) ------------------

KEY_BLANK = b""
KEY_INVALID = b"-"  # a key no cleaning makes valid: the record is a row error, never skipped
# Not an id however it is cleaned: a printable ASCII character other than a digit or the quotes, `=` and `'`
# cleaning may remove (spaces and control characters it may strip), in a field that is not a null word
# (cleaning empties `null`, and an empty 订单编号 is taken from its alias).
_NEVER_AN_ID = re.compile(rb"[!#-&(-/:-<>-~]")
_NULL_WORD = re.compile(rb"[\x00-\x20\"'=]*null[\x00-\x20\"'=]*", re.IGNORECASE)


class KeyUnsure(Exception):
    """A record's key is neither plain digits nor blank: its cleaned key could equal another record's, so the
    file's records cannot be told apart by the keys read here."""


def record_key(field: bytes) -> bytes:
    """The key a record's raw key field holds: its digits (from `123`, `"123"`, `="123"`, or that formula as
    Excel quotes it again when it saves), KEY_BLANK for an empty field, KEY_INVALID for one that is not an id
    whatever cleaning does. Anything else raises KeyUnsure: cleaning might still make it plain digits."""
    if field[:2] == b'="' and field[-1:] == b'"':
        inner = field[2:-1]
    elif field[:4] == b'"=""' and field[-3:] == b'"""':
        inner = field[4:-3]
    elif field[:1] == b'"' and field[-1:] == b'"' and len(field) > 1:
        inner = field[1:-1]
    else:
        inner = field
    if inner.isdigit():  # bytes: ASCII digits only
        return inner
    if not inner:
        return KEY_BLANK
    if inner.isascii() and _NEVER_AN_ID.search(inner) and not _NULL_WORD.fullmatch(inner):
        return KEY_INVALID  # `2.53564E+17`: Excel's scientific notation, a row error
    raise KeyUnsure(field[:40])


def _key_field(export: ExportFile, position: int):
    """A function from a record's bytes to the raw bytes of its field at `position`."""
    if position == 0:  # the key comes first in every seller-centre layout: no CSV parsing needed

        def first(record: bytes) -> bytes:
            end = record.find(b",")
            return (record if end < 0 else record[:end]).rstrip(b"\r\n")

        return first
    encoding = export.encoding

    def at(record: bytes) -> bytes:
        try:
            fields = next(csv.reader([record.decode(encoding, errors="replace")]), [])
        except csv.Error as exc:  # COPY refuses such a record too: the file goes row by row
            raise KeyUnsure(str(exc)) from None
        if position >= len(fields):
            return b""
        return fields[position].encode(encoding)  # unquoted already: record_key's forms `123` and `="123"`

    return at


def first_keys(export: ExportFile, position: int, count: int) -> list[str]:
    """The digit keys of the first `count` records (blank and invalid ones left out): the probe for whether the
    database holds any of the file's records at all. Raises KeyUnsure as record_keys would, before the file is
    read whole."""
    field_of = _key_field(export, position)
    keys = []
    for _, record in _records(export, [0]):
        key = record_key(field_of(record))
        if key.isdigit():
            keys.append(key.decode())
        if len(keys) >= count:
            break
    return keys


def record_keys(export: ExportFile, position: int, blanks: list[int], *, blank_key_unsure: bool):
    """COPY text rows `line, key, hash` of every record (key `\\N` when blank): what the database compares with
    its rows before the file itself is COPYed. Blank lines are counted in `blanks`. Raises KeyUnsure (see
    record_key), and for a blank key with `blank_key_unsure` (the key then comes from another column)."""
    field_of = _key_field(export, position)
    md5 = _header_md5(export)
    out: list[bytes] = []
    for number, record in _records(export, blanks):
        digest = md5()
        digest.update(record)
        key = record_key(field_of(record))
        if not key.isdigit():  # blank or invalid: never skipped
            if blank_key_unsure and key == KEY_BLANK:
                raise KeyUnsure(b"")
            key = b"\\N"
        out.append(b"%d\t%b\t%b\n" % (number, key, b2a_hex(digest.digest())))
        if len(out) >= BLOCK_PIECES:
            yield b"".join(out)
            out = []
    if out:
        yield b"".join(out)


def _quoted(block: bytes) -> bytes:
    if b"\x01" in block:
        raise NotStaged("a control character \\x01 in the text")
    if b',="' in block:
        # A byte search, not a regex per formula (twice as fast): every `,="` is marked, an empty `=""` included
        # (it becomes `"\x01"`). Whatever else it turns into something other than a plain marked field (a
        # formula whose text holds or starts with a quote, `,="` inside quoted text), _BAD_FORMULA refuses, as
        # the regex rewrite's checks did.
        block = block.replace(b',="', b',"\x01')
        if _BAD_FORMULA.search(block):
            raise NotStaged("an Excel formula that is not a plain `=\"…\"` value")
    if b",=" in block and _FORMULA_QUOTES.search(block):
        raise NotStaged("a formula with quotes in an unquoted field")
    return block


def raw_table_drop(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
