"""The de-duplication rules for a key a file gives more than once, and their warnings: the row-by-row writers
(rowwise/orders.py, lines.py, refunds.py) and the set-based ones (staged/orders.py, lines.py) apply these, so the
two paths cannot drift apart. The same content again is a duplicate (counted, not reported); what differs is
reported with the wording below (messages.py translates it).
"""

from .formats.records import RANK

ORDER_AGAIN = "order {order} appears again with different content (first at line {line}); kept: {kept}"
LINE_TWICE = "line {key} appears twice in this file; the later row wins"
REFUND_TWICE = "refund {key} appears twice in this file; the later row wins"


def order_repeat(order_no: str, status: str, *, first_line: int, first_status: str) -> tuple[bool, str]:
    """An order number seen before (at `first_line`, with `first_status`) again with different content: the more
    advanced status wins, and of two alike the later row. Returns (the later row wins, the warning)."""
    later_wins = RANK[status] >= RANK[first_status]
    kept = status if later_wins else first_status
    return later_wins, ORDER_AGAIN.format(order=order_no, line=first_line, kept=kept)
