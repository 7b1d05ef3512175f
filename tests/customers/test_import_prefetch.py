"""The import reads the next chunk in a thread while the current one is written: nothing may be lost, reordered,
swallowed or left running."""

import threading

import pytest

from customers.importing.prefetch import prefetched


def test_yields_every_item_in_order():
    assert list(prefetched(iter(range(100)), ahead=2)) == list(range(100))


def test_an_error_in_the_reader_reaches_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("bad bytes at line 3")

    seen = []
    with pytest.raises(ValueError, match="line 3"):
        for item in prefetched(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_stops_the_reader_thread_and_closes_the_source():
    closed = threading.Event()

    def items():
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    before = threading.active_count()
    for item in prefetched(items()):
        if item == 3:
            break
    assert threading.active_count() == before
    assert closed.is_set()
