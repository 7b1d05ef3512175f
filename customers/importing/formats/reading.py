"""Reading export files into chunks of raw text values, with the line number in the ORIGINAL file of each record.

CSV goes through pandas' C parser (the fastest tokenizer we have) in chunks, so memory stays flat as files grow.
We decode ourselves rather than letting pandas do it, for two reasons: an invalid byte must become an error that
names its line (pandas would only give a byte offset, or replace it silently with errors="replace"), and GBK-family
files must be decoded as GB18030 (a superset of GBK). Line numbers are counted from the records themselves: each
record spans 1 + (newlines inside its quoted fields) physical lines; blank and comma-only lines come through as
empty records (skip_blank_lines=False) so they are counted too.

Excel files (.xlsx via openpyxl in read-only mode, .xls via xlrd) yield the same chunks; their "line" is the row
number of the first sheet.
"""

import codecs
import csv
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
from django.conf import settings

from .columns import detect_kind, header_positions

CHUNK_ROWS = 50_000
SPARE_COLUMNS = 4  # room for rows with more fields than the header (2017 宝贝报表 ends rows with a stray comma)
_BAD_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")


class UnreadableFile(Exception):
    """The file cannot be read at all: wrong format, unknown layout, bad encoding. The message is one line."""


@dataclass
class RawChunk:
    fields: dict[str, list[str]]  # field name -> raw text per record (aliases already coalesced)
    lines: list[int]  # line in the original file where each record starts
    skipped: int = 0  # blank or comma-only lines
    errors: list[dict] = field(default_factory=list)  # structural errors (wrong number of fields)
    position: int = 0  # bytes (CSV) or rows (Excel) consumed so far, for progress


class _Utf8Stream:
    """A binary stream that decodes the source strictly and hands pandas UTF-8 bytes."""

    def __init__(self, raw, encoding: str, *, skip: int = 0):
        self.raw = raw
        self.source_encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)("strict")
        self.passthrough = encoding == "utf-8"
        self.newlines_before = 0
        self.position = 0
        if skip:
            raw.read(skip)
            self.position = skip

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size and size > 0 else -1)
        final = not data
        pending = len(self.decoder.getstate()[0])
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            offset = max(0, exc.start - pending)
            line = self.newlines_before + data[:offset].count(b"\n") + 1
            raise UnreadableFile(
                f"invalid {self.source_encoding.upper()} bytes at line {line} (byte {self.position + offset}): "
                "the file is not in a Taobao export encoding or is damaged"
            ) from None
        self.newlines_before += data.count(b"\n")
        self.position += len(data)
        return data if self.passthrough else text.encode("utf-8")

    def close(self) -> None:
        self.raw.close()


def _sniff_encoding(head: bytes) -> tuple[str, int]:
    """(codec, bytes to skip). UTF-8 with BOM, UTF-8 without (if the start decodes as UTF-8), else GB18030."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("UTF-16 files are not supported: save the export as CSV (UTF-8 or GBK)")
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, False)
    except UnicodeDecodeError:
        return "gb18030", 0
    return "utf-8", 0


def _clean_header(names) -> list[str]:
    return [str(n if n is not None else "").strip().lstrip("\ufeff").strip() for n in names]


class ExportFile:
    """One export on disk: its kind (orders / lines / refunds), headers, and an iterator of RawChunks."""

    def __init__(self, path: str | Path, *, name: str | None = None):
        self.path = Path(path)
        self.name = name or self.path.name
        if not self.path.exists():
            raise UnreadableFile(f"no such file: {self.path}")
        self.size = self.path.stat().st_size
        suffix = self.path.suffix.lower()
        self.format = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}.get(suffix, "csv")
        self._row_count: int | None = None  # a workbook's rows, as its sheet declares them (for progress)
        self.headers = self._read_headers()
        self.kind = detect_kind(self.headers)
        if self.kind is None:
            raise UnreadableFile(
                "not a Taobao 订单报表, 宝贝报表 or 退款 export: no known header row "
                f"(first columns: {', '.join(self.headers[:5]) or 'none'})"
            )
        self.positions = header_positions(self.kind, self.headers)

    def bytes_done(self, chunk: RawChunk) -> int:
        """How far through the file a chunk reaches, in bytes: exact for CSV; for a workbook the share of its rows
        read (its position is a row number), so the progress bar moves for Excel files too."""
        if self.format == "csv":
            return chunk.position
        rows = self._row_count or 0
        return min(self.size, self.size * chunk.position // rows) if rows else 0

    # --- headers -------------------------------------------------------------------------------------

    def _read_headers(self) -> list[str]:
        if self.format == "csv":
            return self._csv_headers()
        for row in self._excel_rows():
            return _clean_header(row)
        raise UnreadableFile("the first sheet is empty")

    def _csv_headers(self) -> list[str]:
        with open(self.path, "rb") as raw:
            head = raw.read(65536)
        if not head.strip():
            raise UnreadableFile("the file is empty")
        self.encoding, self.bom = _sniff_encoding(head)
        first = head[self.bom :].split(b"\n", 1)[0]
        try:
            text = first.decode(self.encoding)
        except UnicodeDecodeError:
            raise UnreadableFile(f"invalid {self.encoding.upper()} bytes at line 1") from None
        if "\x00" in text:
            raise UnreadableFile("this is not a text (CSV) file")
        return _clean_header(next(csv.reader([text.rstrip("\r")]), []))

    # --- chunks --------------------------------------------------------------------------------------

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[RawChunk]:
        if self.format == "csv":
            yield from self._csv_chunks(size)
        else:
            yield from self._excel_chunks(size)

    def _pick(self, columns: list[list[str]]) -> dict[str, list[str]]:
        """The values of each field, coalescing aliases: the first non-empty column wins."""
        picked = {}
        for name, positions in self.positions.items():
            values = columns[positions[0]]
            for other in positions[1:]:
                values = [a if a.strip() else b for a, b in zip(values, columns[other], strict=True)]
            picked[name] = values
        return picked

    def _csv_chunks(self, size: int) -> Iterator[RawChunk]:
        width = len(self.headers)
        names = [f"c{i}" for i in range(width + SPARE_COLUMNS)]
        stream = _Utf8Stream(open(self.path, "rb"), self.encoding, skip=self.bom)  # noqa: SIM115 closed below
        next_line = 2  # line 1 is the header
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                reader = pd.read_csv(
                    stream,
                    header=None,
                    skiprows=1,
                    names=names,
                    dtype=object,
                    na_filter=False,
                    skip_blank_lines=False,
                    index_col=False,
                    chunksize=size,
                    on_bad_lines="warn",
                    engine="c",
                    encoding="utf-8",
                )
                for frame in reader:
                    bad = [_BAD_LINE.search(str(w.message)) for w in caught]
                    caught.clear()
                    chunk, next_line = self._csv_chunk(frame, width, next_line, [m for m in bad if m])
                    chunk.position = stream.position
                    yield chunk
        except pd.errors.ParserError as exc:
            raise UnreadableFile(f"not a readable CSV file: {str(exc).strip().splitlines()[0]}") from None
        finally:
            stream.close()

    def _csv_chunk(self, frame: pd.DataFrame, width: int, next_line: int, bad_lines) -> tuple[RawChunk, int]:
        values = frame.to_numpy(dtype=object)
        n = len(values)
        spans = [1] * n
        if "\n" in "\x1f".join(values[:, :width].ravel().tolist()):
            for j in range(width):
                column = values[:, j]
                if "\n" in "\x1f".join(column.tolist()):
                    for i, v in enumerate(column):
                        if "\n" in v:
                            spans[i] += v.count("\n")
        lines = []
        for span in spans:
            lines.append(next_line)
            next_line += span
        errors = []
        for match in bad_lines:  # pandas dropped these rows; report them and keep later line numbers right
            line, expected, saw = (int(g) for g in match.groups())
            errors.append(_structure_error(line, f"the row has {saw} fields, the header has {width}"))
            lines = [x + 1 if x >= line else x for x in lines]
            next_line += 1
        columns = [values[:, j].tolist() for j in range(width)]
        keep = list(range(n))
        skipped = 0
        # Blank and comma-only lines: every field empty.
        first = columns[0]
        empties = {i for i, v in enumerate(first) if not v.strip()}
        if empties:
            blank = {i for i in empties if not any(str(x).strip() for x in values[i])}
            skipped = len(blank)
            keep = [i for i in keep if i not in blank]
        # More fields than the header: a trailing empty one is the 2017 stray comma; anything else is an error.
        extra = set()
        for j in range(width, width + SPARE_COLUMNS):
            extra.update(i for i, v in enumerate(values[:, j].tolist()) if v.strip())
        if extra:
            for i in sorted(extra):
                fields_seen = width + max(j - width + 1 for j in range(width, width + SPARE_COLUMNS) if values[i, j])
                errors.append(_structure_error(lines[i], f"the row has {fields_seen} fields, the header has {width}"))
            keep = [i for i in keep if i not in extra]
        if len(keep) != n:
            columns = [[col[i] for i in keep] for col in columns]
            lines = [lines[i] for i in keep]
        return RawChunk(self._pick(columns), lines, skipped, errors), next_line

    # --- Excel ---------------------------------------------------------------------------------------

    def _excel_rows(self) -> Iterator[tuple]:
        try:
            if self.format == "xlsx":
                import openpyxl

                _xlsx_size_check(self.path)  # before openpyxl unpacks anything
                book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
                try:
                    sheet = book.worksheets[0]
                    self._row_count = sheet.max_row or _xlsx_row_count(self.path, sheet._worksheet_path)
                    _row_count_check(self._row_count)
                    yield from sheet.iter_rows(values_only=True)
                finally:
                    book.close()
            else:
                import xlrd

                book = xlrd.open_workbook(self.path, on_demand=True)
                sheet = book.sheet_by_index(0)
                self._row_count = sheet.nrows
                _row_count_check(self._row_count)
                for r in range(sheet.nrows):
                    yield tuple(_xls_value(book, cell) for cell in sheet.row(r))
        except UnreadableFile:
            raise
        except Exception as exc:  # zipfile.BadZipFile, xlrd.XLRDError, KeyError ...: the format is wrong
            raise UnreadableFile(f"not a readable {self.format} workbook: {exc}".splitlines()[0]) from None

    def _excel_chunks(self, size: int) -> Iterator[RawChunk]:
        width = len(self.headers)
        rows = self._excel_rows()
        next(rows, None)  # header
        buffer: list[list[str]] = []
        lines: list[int] = []
        skipped = 0
        errors: list[dict] = []
        line = 1
        limit = settings.HUIKE_IMPORT_MAX_ROWS
        for row in rows:
            line += 1
            if line > limit + 1:  # the sheet declared fewer rows than it holds: the rows so far are imported
                raise UnreadableFile(f"the sheet has more than {limit} rows: reading stopped at line {line}")
            cells = [_cell_text(v) for v in row]
            if not any(c.strip() for c in cells):
                skipped += 1
                continue
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                errors.append(_structure_error(line, f"the row has {len(cells)} cells, the header has {width}"))
                continue
            cells = (cells + [""] * width)[:width]
            buffer.append(cells)
            lines.append(line)
            if len(buffer) >= size:
                yield self._excel_chunk(buffer, lines, skipped, errors, line)
                buffer, lines, skipped, errors = [], [], 0, []
        if buffer or skipped or errors:
            yield self._excel_chunk(buffer, lines, skipped, errors, line)

    def _excel_chunk(self, buffer, lines, skipped, errors, line) -> RawChunk:
        columns = [list(col) for col in zip(*buffer, strict=True)] if buffer else [[] for _ in self.headers]
        return RawChunk(self._pick(columns), lines, skipped, errors, position=line)


def _xlsx_size_check(path: Path) -> None:
    """Refuse a workbook that unpacks to more than HUIKE_IMPORT_XLSX_MAX_UNPACKED_MB, from the sizes its zip
    directory declares (zipfile never unpacks a member beyond its declared size, so a lie cannot get past)."""
    import zipfile

    limit = settings.HUIKE_IMPORT_XLSX_MAX_UNPACKED_MB
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > limit * 1024 * 1024:
        raise UnreadableFile(
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MB, more than the {limit} MB allowed: "
            "it was not read"
        )


def _row_count_check(rows: int | None) -> None:
    limit = settings.HUIKE_IMPORT_MAX_ROWS
    if rows and rows > limit:
        raise UnreadableFile(f"the sheet has more than {limit} rows: it was not read (split the export)")


def _xlsx_row_count(path: Path, member: str) -> int | None:
    """The rows of an unsized sheet (no dimension record, as some exporters write them), counted in its XML: a
    byte search over the decompressed stream, far cheaper than parsing it."""
    import zipfile

    rows, tail = 0, b""
    with zipfile.ZipFile(path) as archive, archive.open(member) as xml:
        while block := xml.read(1 << 20):
            data = tail + block
            rows += data.count(b"<row ") + data.count(b"<row>")
            tail = data[-5:]
            rows -= tail.count(b"<row ") + tail.count(b"<row>")  # counted again with the next block
    rows += tail.count(b"<row ") + tail.count(b"<row>")
    return rows or None


def _structure_error(line: int, reason: str) -> dict:
    return {"line": line, "column": "", "value": "", "reason": reason}


def _cell_text(value) -> str:
    """An Excel cell as the text a CSV export would hold. Numbers that are whole and exactly representable print
    as integers; anything else keeps Python's repr, so a mangled 18-digit id shows up as scientific notation."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value)


def _xls_value(book, cell):
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        return xlrd.xldate_as_datetime(cell.value, book.datemode)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return ""
    return cell.value


def io_text(data: str) -> io.BytesIO:  # small helper for tests that build files in memory
    return io.BytesIO(data.encode("utf-8"))
