"""The byte pass over a CSV export's records, in the standard library only: what copying.py sends to COPY (the
records numbered and hashed, Excel's formulas marked) and the keys and hashes staged._skipped_find compares.

It is run in a process of its own (`python recordpass.py …`, see copying.piped): its Python work, a few
microseconds per record, then runs on the other core beside the importer's second thread and PostgreSQL instead
of taking turns with them for one interpreter lock (two files' passes at once took 9.6 s in one process, 8.0 s
one after the other). The importer also imports it, for the first records' keys and for tests.

A record spans 1 + the line breaks inside its quoted fields: a quote count per line tells where records start,
since neither a GBK/GB18030 trail byte nor a UTF-8 continuation byte is ever `"`, `,` or a line break.
"""

import csv
import hashlib
import json
import re
import sys
from binascii import b2a_hex
from dataclasses import dataclass

BLOCK_PIECES = 16384  # prefixes and lines handed to COPY per write
# A line whose fields are all empty or blank-in-quotes: `,,,`, `"","",""`, `" ",""`, an empty line.
_BLANK = re.compile(rb'[ \t]*(?:"[ \t]*"[ \t]*)?(?:,[ \t]*(?:"[ \t]*"[ \t]*)?)*\r?\n?')
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


def blank_line(line: bytes) -> bool:
    return _BLANK.fullmatch(line) is not None


class Refused(Exception):
    """The file cannot be COPYed as it is (copying.NotStaged); the message says why."""


@dataclass
class Source:
    path: str
    bom: int  # bytes of byte-order mark before the header
    encoding: str  # Python's name: utf-8 or gb18030


def records(source: Source, blanks: list[int]):
    """(line number where it starts, bytes) of each record of the file; blank lines counted, not yielded. The loop
    is the COPY's own cost on the client: kept to a few operations per line."""
    is_blank = _BLANK.fullmatch
    with open(source.path, "rb") as raw:
        raw.read(source.bom)
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
            if (first[:1] in b' \t,\r\n' or first in (b'""', b'" ', b'"\t')) and is_blank(line):
                blanks[0] += 1
                continue
            if line.count(b'"') & 1:  # a quoted field goes on on the next line
                record, record_start = [line], number
                continue
            yield number, line
        if record:  # an unterminated quote: COPY reports it
            yield record_start, b"".join(record)


def header_md5(source: Source):
    """A function returning a new md5 that has hashed the file's header line: each record's hash starts there."""
    with open(source.path, "rb") as raw:
        raw.read(source.bom)
        return hashlib.md5(raw.readline(), usedforsecurity=False).copy


def numbered_records(source: Source, blanks: list[int], only: bytearray | None = None):
    """The file's records (or `only` those marked) as COPY input, each prefixed with its line number and hash."""
    md5 = header_md5(source)
    out: list[bytes] = []
    for number, record in records(source, blanks):
        if only is not None and not only[number]:
            continue
        digest = md5()
        digest.update(record)
        out.append(b"%d,%b," % (number, b2a_hex(digest.digest())))
        out.append(record)
        if len(out) >= BLOCK_PIECES:
            yield quoted(b"".join(out))
            out = []
    if out:
        yield quoted(b"".join(out))


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


def key_field(source: Source, position: int):
    """A function from a record's bytes to the raw bytes of its field at `position`."""
    if position == 0:  # the key comes first in every seller-centre layout: no CSV parsing needed

        def first(record: bytes) -> bytes:
            end = record.find(b",")
            return (record if end < 0 else record[:end]).rstrip(b"\r\n")

        return first
    encoding = source.encoding

    def at(record: bytes) -> bytes:
        try:
            fields = next(csv.reader([record.decode(encoding, errors="replace")]), [])
        except csv.Error as exc:  # COPY refuses such a record too: the file goes row by row
            raise KeyUnsure(str(exc)) from None
        if position >= len(fields):
            return b""
        return fields[position].encode(encoding)  # unquoted already: record_key's forms `123` and `="123"`

    return at


def first_keys(source: Source, position: int, count: int) -> list[str]:
    """The digit keys of the first `count` records (blank and invalid ones left out): the probe for whether the
    database holds any of the file's records at all. Raises KeyUnsure as record_keys would, before the file is
    read whole."""
    field_of = key_field(source, position)
    keys = []
    for _, record in records(source, [0]):
        key = record_key(field_of(record))
        if key.isdigit():
            keys.append(key.decode())
        if len(keys) >= count:
            break
    return keys


def record_keys(source: Source, position: int, blanks: list[int], *, blank_key_unsure: bool):
    """COPY text rows `line, key, hash` of every record (key `\\N` when blank): what the database compares with
    its rows before the file itself is COPYed. Blank lines are counted in `blanks`. Raises KeyUnsure (see
    record_key), and for a blank key with `blank_key_unsure` (the key then comes from another column)."""
    field_of = key_field(source, position)
    md5 = header_md5(source)
    out: list[bytes] = []
    for number, record in records(source, blanks):
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


def quoted(block: bytes) -> bytes:
    if b"\x01" in block:
        raise Refused("a control character \\x01 in the text")
    if b',="' in block:
        # A byte search, not a regex per formula (twice as fast): every `,="` is marked, an empty `=""` included
        # (it becomes `"\x01"`). Whatever else it turns into something other than a plain marked field (a
        # formula whose text holds or starts with a quote, `,="` inside quoted text), _BAD_FORMULA refuses, as
        # the regex rewrite's checks did.
        block = block.replace(b',="', b',"\x01')
        if _BAD_FORMULA.search(block):
            raise Refused("an Excel formula that is not a plain `=\"…\"` value")
    if b",=" in block and _FORMULA_QUOTES.search(block):
        raise Refused("a formula with quotes in an unquoted field")
    return block


# --- in a process of its own ---------------------------------------------------------------------------------------

# exit statuses: what went wrong, with the reason on stderr
REFUSED, UNSURE = 3, 4


def main(argv: list[str]) -> int:
    """`recordpass.py copy|keys PATH BOM ENCODING [POSITION BLANK_KEY_UNSURE] [--only]`: the pass's blocks on
    stdout, then `{"blanks": n}` on stderr. With --only, the bytes of `only` come first on stdin."""
    mode, path, bom, encoding, *rest = argv
    source = Source(path, int(bom), encoding)
    only = None
    if "--only" in rest:
        rest.remove("--only")
        only = bytearray(sys.stdin.buffer.read())
    blanks = [0]
    out = sys.stdout.buffer
    try:
        if mode == "copy":
            blocks = numbered_records(source, blanks, only)
        else:
            position, blank_key_unsure = int(rest[0]), rest[1] == "1"
            blocks = record_keys(source, position, blanks, blank_key_unsure=blank_key_unsure)
        for block in blocks:
            out.write(block)
        out.flush()
    except Refused as exc:
        sys.stderr.write(str(exc))
        return REFUSED
    except KeyUnsure as exc:
        sys.stderr.write(repr(exc.args))
        return UNSURE
    except BrokenPipeError:  # the importer stopped reading: its COPY failed
        return 1
    sys.stderr.write(json.dumps({"blanks": blanks[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
