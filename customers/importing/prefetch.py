"""Reading the next chunk while the database writes the current one.

An import alternates two kinds of work: parsing and cleaning a chunk (Python and pandas, one CPU) and upserting
it (PostgreSQL, another process and CPU). Done one after the other, each waits for the other; with the reading in
a thread one chunk ahead, the database's time hides behind the next chunk's parsing. The reading thread touches no
database connection (Django's are per thread) and no state of the writer's.
"""

import contextlib
import queue
import threading
from collections.abc import Iterator

_DONE = object()


def prefetched(items: Iterator, *, ahead: int = 1) -> Iterator:
    """Yield what `items` yields, computing up to `ahead` items in a background thread before they are asked for.
    An exception raised by `items` is raised here, at the point the failing item would have been yielded. When the
    consumer stops early (an exception or break), the thread is told to stop and is joined."""
    handoff: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(handoff, (item, None), stop):
                    return
            _put(handoff, (_DONE, None), stop)
        except BaseException as exc:  # handed to the consumer, re-raised there
            _put(handoff, (_DONE, exc), stop)

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                handoff.get_nowait()
            thread.join(timeout=0.05)
        close = getattr(items, "close", None)
        if close is not None and not thread.is_alive():
            close()


def _put(handoff: queue.Queue, entry, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            handoff.put(entry, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
