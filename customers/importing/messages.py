"""The import's error and warning reasons in the shop's language.

The importer writes its reasons in English: they are part of the summary that `import_orders --json` and the API
return, so scripts can rely on them. People read them on the import result page, which shows them through
`reason_display()`: each English reason the importer can produce is listed here once, as a template whose
`{name}` parts are the values it carries, with the translated template beside it. A reason missing from the list
is shown as it is (English beats nothing); tests/customers/test_import_messages.py checks that every reason the
importer produces for the quirk files is listed.
"""

import re
from functools import cache

from django.utils.translation import gettext_lazy as _

MESSAGES = [
    # cleaning.py: one cell
    ("the id is in scientific notation (mangled by Excel) and cannot be recovered",
     _("the id is in scientific notation (mangled by Excel) and cannot be recovered")),
    ("not a valid id (digits only)", _("not a valid id (digits only)")),
    ("not an amount of money", _("not an amount of money")),
    ("a negative amount is not valid here", _("a negative amount is not valid here")),
    ("not a whole number", _("not a whole number")),
    ("not a valid date and time", _("not a valid date and time")),
    ("not yes or no", _("not yes or no")),
    ("this value is required", _("this value is required")),
    ("longer than {limit} characters", _("longer than {limit} characters")),
    ("this column is missing", _("this column is missing")),
    # reading.py: the file or a row's structure
    ("invalid {encoding} bytes at line {line} (byte {byte}): the file is not in a Taobao export encoding or is damaged",
     _("invalid {encoding} bytes at line {line} (byte {byte}): the file is not in a Taobao export encoding or is "
       "damaged")),
    ("invalid {encoding} bytes at line {line}", _("invalid {encoding} bytes at line {line}")),
    ("no such file: {path}", _("no such file: {path}")),
    ("UTF-16 files are not supported: save the export as CSV (UTF-8 or GBK)",
     _("UTF-16 files are not supported: save the export as CSV (UTF-8 or GBK)")),
    ("the file is empty", _("the file is empty")),
    ("this is not a text (CSV) file", _("this is not a text (CSV) file")),
    ("not a Taobao 订单报表, 宝贝报表 or 退款 export: no known header row (first columns: {columns})",
     _("not a Taobao 订单报表, 宝贝报表 or 退款 export: no known header row (first columns: {columns})")),
    ("the first sheet is empty", _("the first sheet is empty")),
    ("not a readable CSV file: {detail}", _("not a readable CSV file: {detail}")),
    ("not a readable {format} workbook: {detail}", _("not a readable {format} workbook: {detail}")),
    ("the row has {seen} fields, the header has {width}", _("the row has {seen} fields, the header has {width}")),
    ("the row has {seen} cells, the header has {width}", _("the row has {seen} cells, the header has {width}")),
    ("the workbook unpacks to {size} MB, more than the {limit} MB allowed: it was not read",
     _("the workbook unpacks to {size} MB, more than the {limit} MB allowed: it was not read")),
    ("the sheet has more than {limit} rows: it was not read (split the export)",
     _("the sheet has more than {limit} rows: it was not read (split the export)")),
    ("the sheet has more than {limit} rows: reading stopped at line {line}",
     _("the sheet has more than {limit} rows: reading stopped at line {line}")),
    # orders.py, lines.py, refunds.py, buyers.py: warnings
    ("order {order} appears again with different content (first at line {line}); kept: {kept}",
     _("order {order} appears again with different content (first at line {line}); kept: {kept}")),
    ("no buyer details: the order is imported without a customer",
     _("no buyer details: the order is imported without a customer")),
    ("line {key} appears twice in this file; the later row wins",
     _("line {key} appears twice in this file; the later row wins")),
    ("line {line} repeats line {first} of order {order} in this file; stored once",
     _("line {line} repeats line {first} of order {order} in this file; stored once")),
    ("refund {key} appears twice in this file; the later row wins",
     _("refund {key} appears twice in this file; the later row wins")),
    ("masked buyer: same member name and nickname as another customer, but a different receiver, phone or region; "
     "kept apart (merge by hand if they are one person)",
     _("masked buyer: same member name and nickname as another customer, but a different receiver, phone or region; "
       "kept apart (merge by hand if they are one person)")),
    # batches.py: a 宝贝报表 line without its order
    ("order {order} is not in any 订单报表 imported so far: the line is kept and linked when it comes",
     _("order {order} is not in any 订单报表 imported so far: the line is kept and linked when it comes")),
    # records.py: a phone cell longer than the customer's phone column
    ("more than one phone number in the cell: the first, {phone}, is kept",
     _("more than one phone number in the cell: the first, {phone}, is kept")),
    ("not a phone number of at most {limit} characters: not kept",
     _("not a phone number of at most {limit} characters: not kept")),
    # runner.py: the run
    ("stopped after {count} errors (at most {limit} per file): nothing after line {line} was read",
     _("stopped after {count} errors (at most {limit} per file): nothing after line {line} was read")),
    ("{count} errors, more than a file may have ({limit}): none of its rows was imported",
     _("{count} errors, more than a file may have ({limit}): none of its rows was imported")),
    ("none of its {rows} rows was imported (see the rows listed)",
     _("none of its {rows} rows was imported (see the rows listed)")),
    ("could not be imported: {detail}", _("could not be imported: {detail}")),
    ("not imported: the import stopped at a database error", _("not imported: the import stopped at a database error")),
    ("database error while updating the customers' figures (the orders were saved): {detail}",
     _("database error while updating the customers' figures (the orders were saved): {detail}")),
    ("database error in the rows from line {first} to {last} (nothing of them was saved): {detail}",
     _("database error in the rows from line {first} to {last} (nothing of them was saved): {detail}")),
    ("database error while merging re-keyed customers (the orders were saved): {detail}",
     _("database error while merging re-keyed customers (the orders were saved): {detail}")),
]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def _patterns() -> list[tuple[re.Pattern, object]]:
    compiled = []
    for english, translated in MESSAGES:
        parts = _PLACEHOLDER.split(english)  # text, name, text, name, ..., text
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(parts))
        compiled.append((re.compile(regex, re.DOTALL), translated))
    return compiled


def _status_label(code: str) -> str:
    from customers.models import OrderStatus

    return str(OrderStatus(code).label) if code in OrderStatus.values else code


# Values a reason carries as a stored code, shown by their label (the summary keeps the code for scripts).
VALUE_LABELS = {"kept": _status_label}


def reason_display(reason: str) -> str:
    """`reason` in the active language, with the values it carries put back in."""
    for pattern, translated in _patterns():
        match = pattern.fullmatch(reason or "")
        if match:
            values = {name: VALUE_LABELS.get(name, str)(value) for name, value in match.groupdict().items()}
            return str(translated).format(**values)
    return reason


def is_listed(reason: str) -> bool:
    return any(pattern.fullmatch(reason) for pattern, _ in _patterns())
