"""PostgreSQL only: a CSV export COPYed as it is into an all-text staging table, one row per record, each with the
line in the original file where it starts.

PostgreSQL's own CSV parser (and its GB18030 decoder) does the reading: far faster than pandas plus a Python call
per cell. What it cannot do, a pass over the raw bytes does on the way in (recordpass.py, in a process of its
own): it numbers the records, it leaves out blank and comma-only lines (counted as skipped), and it hashes each
record. The number goes in front of each record as one more field, then the hash: `record_hash`, the md5 of the
file's header line and the record's bytes as the file has them (Order.source_hash: what a re-import compares).
Python's md5 over the bytes it holds anyway costs less than PostgreSQL's over the parsed fields (2 s against
5.6 s of CPU per 1M orders).

Anything COPY rejects (a row with another number of fields than the first one, an invalid byte, a stray quote)
raises NotStaged, and the caller reads the file the slow way, which reports such rows one by one.
"""

import csv
import json
import logging
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import psycopg
from django.db import DatabaseError, connection, transaction

from ..formats.reading import ExportFile
from ..sql import error_first_line
from . import recordpass
from .recordpass import KeyUnsure, Refused

log = logging.getLogger(__name__)

_COPY_ENCODINGS = {"utf-8": "UTF8", "gb18030": "GB18030"}
PIPE_READ = 1 << 20


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
    blanks = 0
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE UNLOGGED TABLE {name} ({columns})")
            encoding = _COPY_ENCODINGS[export.encoding]
            if only is not None and only.find(1) < 0:
                return RawTable(name, width, 0)
            with cursor.cursor.copy(f"COPY {name} FROM STDIN WITH (FORMAT csv, ENCODING '{encoding}')") as copy:
                blanks = piped(export, ["copy"], copy.write, stdin=only)
    except Refused as exc:
        raise NotStaged(str(exc)) from None
    except (DatabaseError, psycopg.Error) as exc:  # COPY's own errors come from psycopg unwrapped
        raise NotStaged(error_first_line(exc)) from None
    return RawTable(name, width, 0 if only is not None else blanks)


def record_keys_copy(export: ExportFile, copy, position: int, *, blank_key_unsure: bool) -> int:
    """recordpass.record_keys of `export` written to `copy`; returns the blank lines counted. Raises KeyUnsure."""
    return piped(export, ["keys", str(position), "1" if blank_key_unsure else "0"], copy.write)


def first_keys(export: ExportFile, position: int, count: int) -> list[str]:
    return recordpass.first_keys(_source(export), position, count)


def piped(export: ExportFile, command: list[str], write, *, stdin: bytearray | None = None) -> int:
    """Run recordpass.py `command` over `export` in a process of its own, handing its output to `write` as it
    comes. Returns the blank lines it counted; raises Refused or KeyUnsure as the pass did."""
    mode, *options = command
    # -I: not this package's folder on the path (its modules would shadow the standard library's), no PYTHON* vars
    argv = [sys.executable, "-I", recordpass.__file__, mode, str(export.path), str(export.bom), export.encoding]
    argv += options
    if stdin is not None:
        argv.append("--only")
    # Its reasons go to a file, not a pipe: a long one (a traceback) could fill a pipe nobody reads yet.
    with tempfile.TemporaryFile() as reasons, _started(argv, stdin is not None, reasons) as process:
        try:
            if stdin is not None:  # read whole by the pass before it writes anything: no deadlock
                try:
                    process.stdin.write(stdin)
                    process.stdin.close()
                except BrokenPipeError:  # it ended before reading: its status says why
                    pass
            while block := process.stdout.read(PIPE_READ):
                write(block)
            status = process.wait()
        finally:
            if process.poll() is None:  # our COPY failed while the pass was still sending
                process.kill()
        reasons.seek(0)
        message = reasons.read().decode(errors="replace").strip()
    if status == recordpass.REFUSED:
        raise Refused(message)
    if status == recordpass.UNSURE:
        raise KeyUnsure(message)
    last = (message.splitlines() or [""])[-1]
    if status:
        log.error("the record pass over %s ended with status %s: %s", export.name, status, message)
        raise Refused(f"the record pass ended with status {status}: {last}")
    return json.loads(last)["blanks"]


def _started(argv: list[str], stdin: bool, reasons) -> subprocess.Popen:
    try:
        return subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=reasons
        )
    except OSError as exc:  # no interpreter where sys.executable says (an embedding server): row by row
        log.error("the record pass could not start (%s): %s", argv[0], exc)
        raise Refused(f"the record pass could not start: {exc}") from None


def _source(export: ExportFile) -> recordpass.Source:
    return recordpass.Source(str(export.path), export.bom, export.encoding)


def _record_width(export: ExportFile) -> int:
    """The fields of the first data record: the header's width, or one more when that one is empty (2017)."""
    width = len(export.headers)
    with open(export.path, "rb") as raw:
        raw.read(export.bom)
        raw.readline()
        for line in raw:
            if recordpass.blank_line(line):
                continue
            try:
                fields = next(csv.reader([line.decode(export.encoding).rstrip("\r\n")]), [])
            except UnicodeDecodeError:
                raise NotStaged("invalid bytes in the first record") from None
            except csv.Error as exc:  # a field over csv.field_size_limit(): COPY may take it, the row path reports it
                raise NotStaged(f"the first record cannot be read as CSV: {exc}") from None
            if len(fields) == width or (len(fields) == width + 1 and not fields[-1].strip()):
                return len(fields)
            raise NotStaged(f"the first record has {len(fields)} fields, the header {width}")
    raise NotStaged("no records")


def raw_table_drop(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
