"""One place for an import's run state: what the whole run remembers (RunState: the timeline and segmentation
afterwards) and what one file's import remembers across its batches or slices (FileState: its summary, the order
numbers seen so far, the customers touched). Both paths, row by row and staged, read and fill the same two.
"""

from dataclasses import dataclass, field

import numpy as np

MAX_LISTED = 500  # errors/warnings kept per file in the summary; the counts stay exact


class SeenOrders:
    """The order numbers a file has had so far, each with its packed (hash, line, status) of orders._pack: two
    sorted numpy arrays (24 bytes an order) instead of a dict of Python ints (~170 bytes an order). A batch looks
    its order numbers up at once (`lookup`) and adds its own at the end (`update`)."""

    LOW = (1 << 40) - 1  # line and status; the 48-bit hash prefix is above them

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.uint64)
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rest = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, keys: list[int]) -> list[int | None]:
        """The packed value of each key seen before, else None."""
        if not len(self.keys) or not keys:
            return [None] * len(keys)
        wanted = np.array(keys, dtype=np.uint64)
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        found = self.keys[at] == wanted
        hashes, rest = self.hashes[at].tolist(), self.rest[at].tolist()
        return [(hashes[j] << 40) | rest[j] if hit else None for j, hit in enumerate(found.tolist())]

    def update(self, packed: dict[int, int]) -> None:
        """Record {key: packed value}; a key seen before gets its new value."""
        if not packed:
            return
        keys = np.array(sorted(packed), dtype=np.uint64)
        values = [packed[k] for k in keys.tolist()]
        hashes = np.array([v >> 40 for v in values], dtype=np.uint64)
        rest = np.array([v & self.LOW for v in values], dtype=np.uint64)
        at = np.searchsorted(self.keys, keys)
        known = np.zeros(len(keys), dtype=bool)
        inside = at < len(self.keys)
        known[inside] = self.keys[at[inside]] == keys[inside]
        self.hashes[at[known]] = hashes[known]
        self.rest[at[known]] = rest[known]
        new = ~known
        self.keys = np.insert(self.keys, at[new], keys[new])
        self.hashes = np.insert(self.hashes, at[new], hashes[new])
        self.rest = np.insert(self.rest, at[new], rest[new])


@dataclass
class FileState:
    """What one file's import remembers across its batches."""

    name: str
    kind: str
    summary: dict
    present: set = field(default_factory=set)  # the fields this file's layout has
    seen: SeenOrders = field(default_factory=SeenOrders)  # orders: int(order_no) -> packed (hash, line, status)
    line_numbers: dict = field(default_factory=dict)  # 2017 宝贝报表: order_no -> highest place given so far
    claimed: set = field(default_factory=set)  # 2017 宝贝报表: the line keys its rows took (line_match.py)
    keyless_seen: dict = field(default_factory=dict)  # 2017 宝贝报表: (order_no, content hash) -> first line
    affected: set = field(default_factory=set)  # customers whose orders/refunds changed in the batches that landed
    contact_changed: set = field(default_factory=set)  # customers whose contact details changed in them
    line_orders: list = field(default_factory=list)  # orders (ids) that got new or changed lines in them
    figured: set = field(default_factory=set)  # new customers created with their figures (staged_orders)
    rekeyed: dict = field(default_factory=dict)  # customer id -> {customer id that took its orders: orders}

    def warn(self, line: int, column: str, value: str, reason: str) -> None:
        self.summary["warning_count"] += 1
        if len(self.summary["warnings"]) < MAX_LISTED:
            self.summary["warnings"].append(
                {"file": self.name, "line": line, "column": column, "value": value, "reason": reason}
            )


    def warn_orphans(self, rows) -> None:
        """(line, order number) of each line written without its order (not in any 订单报表 imported yet): listed
        as warnings, as bad rows are; the line is linked when its order comes."""
        for line, order_no in rows:
            self.warn(line, ORDER_NO_HEADER, order_no, ORPHAN_REASON.format(order=order_no))


ORDER_NO_HEADER = "订单编号"
ORPHAN_REASON = "order {order} is not in any 订单报表 imported so far: the line is kept and linked when it comes"


@dataclass
class RunState:
    """What the whole import run remembers: for the timeline and for segmentation afterwards."""

    run_id: str
    now: object = None
    affected: set = field(default_factory=set)
    created_customers: set = field(default_factory=set)
    timeline: dict = field(default_factory=dict)  # customer id -> [created, updated, [sample order numbers]]
    status_changes: dict = field(default_factory=dict)  # customer id -> [[order_no, from, to], ...]
    batch_affected: set = field(default_factory=set)  # the current batch's, until its transaction commits
    batch_contact_changed: set = field(default_factory=set)
    batch_line_orders: list = field(default_factory=list)
    batch_rekeyed: list = field(default_factory=list)  # (customer id before, after) of each re-keyed order
