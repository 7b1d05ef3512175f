"""The byte pass's rewrite of Excel formulas (customers/importing/staged/recordpass.py) against the rules it stands
for, written out as regular expressions: for every short run of the bytes that matter it gives the same bytes,
or both refuse the block. No database needed."""

import hashlib
import itertools
import re

import pytest

from customers.importing.formats.reading import ExportFile
from customers.importing.staged.copying import piped
from customers.importing.staged.recordpass import (
    KEY_BLANK,
    KEY_INVALID,
    KeyUnsure,
    Refused,
    Source,
    numbered_records,
    quoted,
    record_key,
)

from .importing_fixtures import ORDER_HEADER, order_row, write_export

# The rules: a `,="…"` whose text is not empty and holds no quote is marked; an empty `,=""` ending a field is
# marked empty; what is left of a formula with quotes, or a mark not closed where its field ends, is refused.
_FORMULA = re.compile(rb',="(?=[^"])')
_EMPTY = re.compile(rb',=""(?=,|\r?\n|$)')
_BAD = re.compile(rb'"\x01(?![^",\r\n]*"(?:,|\r?\n|$))')
_QUOTES = re.compile(rb',=[^",\r\n]*"')


def _by_the_rules(block: bytes) -> bytes:
    block = _EMPTY.sub(b',"\x01"', _FORMULA.sub(b',"\x01', block))
    if _BAD.search(block) or _QUOTES.search(block):
        raise Refused("refused")
    return block


def _outcome(rewrite, block: bytes):
    try:
        return rewrite(block)
    except Refused:
        return "refused"


@pytest.mark.parametrize("length", range(1, 8))
def test_the_formula_rewrite_gives_what_the_rules_give_for_every_short_byte_run(length):
    for combination in itertools.product(b',="a\r\n', repeat=length):
        block = b"1" + bytes(combination)  # every field follows the line number's comma
        assert _outcome(quoted, block) == _outcome(_by_the_rules, block), block


def test_each_record_is_numbered_and_hashed_with_the_header(tmp_path):
    header = b'"a","b"\r\n'
    first, second, third = b'"1","x"\r\n', b'"2","two\r\nlines"\r\n', b'"3",="9"\r\n'
    path = tmp_path / "orders.csv"
    path.write_bytes(header + first + second + b"\r\n" + third)  # a blank line before the third record
    blanks = [0]

    sent = b"".join(numbered_records(Source(path, 0, "utf-8"), blanks))

    def md5(record: bytes) -> bytes:
        return hashlib.md5(header + record, usedforsecurity=False).hexdigest().encode()

    assert sent == (
        b"2," + md5(first) + b"," + first
        + b"3," + md5(second) + b"," + second
        + b"6," + md5(third) + b',"3","\x019"\r\n'  # the hash is of the record as the file has it
    )
    assert blanks == [1]


@pytest.mark.parametrize(
    "field, key",
    [
        (b"3003249668502700001", b"3003249668502700001"),
        (b'"3003249668502700001"', b"3003249668502700001"),
        (b'="3003249668502700001"', b"3003249668502700001"),
        (b'"=""3003249668502700001"""', b"3003249668502700001"),  # the formula as Excel quotes it when it saves
        (b"", KEY_BLANK),
        (b'""', KEY_BLANK),
        (b"3.00325E+18", KEY_INVALID),  # Excel's scientific notation: a row error whatever cleaning does
        (b'"3003-2496"', KEY_INVALID),
    ],
)
def test_a_record_key_is_read_from_each_form_the_exports_write_it_in(field, key):
    assert record_key(field) == key


@pytest.mark.parametrize(
    "field",
    [
        b'" 3003249668502700001"',  # stripped, the same key as its plain twin
        b"3003249668502700001\x1f",  # str.strip() removes the unit separator too
        b'"\xa1\xa13003249668502700001"',  # a GBK full-width space
        b'"NULL"',  # cleaned empty: an empty 订单编号 is taken from the 主订单编号
        b'"\x1cnull "',
        b'"',
    ],
)
def test_a_record_key_that_cleaning_might_still_make_digits_or_blank_is_unsure(field):
    with pytest.raises(KeyUnsure):
        record_key(field)


def _orders_file(tmp_path, rows: list) -> ExportFile:
    return ExportFile(write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows))


def test_the_pass_in_its_own_process_sends_what_it_sends_in_this_one(tmp_path):
    export = _orders_file(tmp_path, [order_row(), "", order_row(订单编号='="3003249668502700002"', 买家留言="a\r\nb")])
    received = []

    blanks = piped(export, ["copy"], received.append)

    counted = [0]
    here = b"".join(numbered_records(Source(str(export.path), export.bom, export.encoding), counted))
    assert b"".join(received) == here and blanks == counted[0] == 1


def test_the_pass_in_its_own_process_says_why_it_refuses_a_file_or_its_keys(tmp_path):
    refused = _orders_file(tmp_path, [order_row(买家留言="x"), order_row(订单编号='="3003249668502700002"')])
    text = refused.path.read_bytes().replace(b'"x"', b'=HYPERLINK("y")')
    refused.path.write_bytes(text)
    with pytest.raises(Refused, match="formula"):
        piped(refused, ["copy"], lambda block: None)

    unsure = _orders_file(tmp_path, [order_row(), order_row(订单编号=" 3003249668502700002")])
    with pytest.raises(KeyUnsure):
        piped(unsure, ["keys", "0", "0"], lambda block: None)


def test_the_pass_in_its_own_process_sends_only_the_records_marked(tmp_path):
    export = _orders_file(tmp_path, [order_row(订单编号=f'="300324966850270000{n}"') for n in range(1, 5)])
    only = bytearray(6)
    only[3] = only[5] = 1  # the second and the fourth record (lines 3 and 5)
    received = []

    blanks = piped(export, ["copy"], received.append, stdin=only)

    sent = b"".join(received)
    assert [line.split(b",")[0] for line in sent.splitlines()] == [b"3", b"5"]
    assert b"3003249668502700002" in sent and b"3003249668502700001" not in sent and blanks == 0


def test_a_pass_that_crashes_is_refused_with_its_last_words(tmp_path):
    export = _orders_file(tmp_path, [order_row()])

    with pytest.raises(Refused, match=r"ended with status 1: IndexError"):
        piped(export, ["keys"], lambda block: None)  # no key position: the pass fails


def test_a_pass_that_cannot_start_is_refused_and_says_why(tmp_path, monkeypatch):
    export = _orders_file(tmp_path, [order_row()])
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python-here"))

    with pytest.raises(Refused, match="could not start"):
        piped(export, ["copy"], lambda block: None)
