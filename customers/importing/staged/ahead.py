"""A 宝贝报表 prepared on a second connection while the run's 订单报表 is written (PostgreSQL, autocommit only).

Why: writing orders keeps one core busy in one backend; COPYing and cleaning the lines file needs nothing the
orders write (its own work tables, and the line table, which no earlier file of the run writes), so on two cores
it costs almost no wall time beside it. Only the steps before any write run ahead (staged.staged_prepare): the
COPY and the search for records imported before at once (the two COPY passes share the cores with nothing
else), the cleaning once the 订单报表's own is done. Then, once the orders are written, the comparison with the
line table and the lines' order ids (`compare`), beside the orders' figures and timeline, which keep one core
busy. The writes keep the run's order. Inside a caller's transaction (tests, a shell) nothing runs ahead: a
second connection could not see that transaction's rows, and what it commits could not be rolled back with it.
"""

import copy
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, connection, connections

from ..formats.columns import LINES, ORDERS
from ..formats.reading import ExportFile
from ..sql import scalar
from ..state import FileState, RunState
from .copying import raw_table_drop
from .staging import Staging, session_tuned, stageable, staged_prepare, staging_drop

log = logging.getLogger(__name__)


class Ahead:
    """One file being prepared on its own thread (and so its own database connection)."""

    def __init__(self, export: ExportFile, state: FileState, run: RunState, prepare, compare) -> None:
        self.export = export
        self.state = state
        self.taken = False  # staging() was called: the run writes it (and drops its tables)
        self.saved = copy.deepcopy(state.summary)  # what the summary was, for a fallback to the row-by-row path
        # The COPY and the search for records imported before as they are start at once; the cleaning waits for
        # go(): beside the 订单报表's own cleaning (parallel workers on every core) it would only slow it down.
        self._go = threading.Event()
        self._orders_written = threading.Event()  # set by orders_written(), or when the run needs the file now
        self._compare_wanted = False
        owner = scalar("SELECT pg_backend_pid()")  # the work tables live as long as this connection
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huike-import-ahead")
        self._future = self._pool.submit(self._prepare, export, state, run, prepare, compare, owner)
        log.info("preparing %s ahead, on a second connection", self.export.name)

    def _prepare(self, export, state, run, prepare, compare, owner) -> Staging:
        try:
            staging = staged_prepare(export, state, run, prepare=prepare, owner=owner, before_clean=self._go.wait)
            try:
                self._orders_written.wait()
                if self._compare_wanted:
                    _compared(staging, compare)
            except BaseException:  # whoever takes the file then gets the error, and no work table is left
                staging_drop(staging)
                raise
            return staging
        finally:
            connections.close_all()  # this thread's own connection

    def go(self) -> None:
        """Let the preparation go on past its COPY: the file before it has done its own cleaning."""
        self._go.set()

    def orders_written(self) -> None:
        """The run's orders are written (their figures and timeline are next): the file may be compared with
        the line table and look up its orders now."""
        self._compare_wanted = True
        self._orders_written.set()

    def staging(self) -> Staging:
        """The prepared file, once ready; raises NotStaged as staged_prepare does."""
        self.taken = True
        self.go()
        self._orders_written.set()  # without orders_written(), the writer compares it itself
        try:
            return self._future.result()
        finally:
            self._pool.shutdown()

    def discard(self) -> None:
        """The run ends without writing the file (it stopped at a failure): what was prepared is dropped, and
        the file's summary is as it was before (no rows, no errors: it was not imported)."""
        if self.taken:
            return
        self.taken = True
        self.go()
        self._orders_written.set()
        try:
            staging = self._future.result()
        except Exception:  # nothing left behind: staged_prepare drops its tables when it fails
            staging = None
        finally:
            self._pool.shutdown()
            self.state.summary.clear()
            self.state.summary.update(self.saved)
        if staging:
            staging_drop(staging)


def _compared(staging: Staging, compare) -> None:
    """`compare(staging)` on this connection; should it fail, the writer compares the file itself. The work
    tables made here are dropped so that it can make them again; one that cannot be (a broken connection) stays
    listed for the end of the file, and the writer's own comparison then fails on it: the file goes row by
    row, as when any step before a write fails."""
    before = len(staging.tables)
    try:
        with session_tuned():
            compare(staging)
    except DatabaseError:
        log.exception("comparing %s ahead failed; it is compared when written", staging.export.name)
        made, staging.tables[before:] = staging.tables[before:], []
        for name in made:
            try:
                raw_table_drop(name)
            except DatabaseError:
                staging.tables.append(name)
        for key in ("compared", "written"):
            staging.prepared.pop(key, None)


def ahead_start(files: list[tuple[ExportFile, FileState]], run: RunState, prepare, compare) -> Ahead | None:
    """Start preparing the run's first 宝贝报表 when a 订单报表 is written before it and the 宝贝报表 takes the
    set-based path. `files` are in the order they will be written."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    kinds = [export.kind for export, _ in files]
    if ORDERS not in kinds or LINES not in kinds:
        return None
    first_lines = kinds.index(LINES)
    export, state = files[first_lines]
    if ORDERS not in kinds[:first_lines] or not stageable(export):
        return None
    return Ahead(export, state, run, prepare, compare)
