"""Staging a batch column by column reaches the database byte for byte, on both databases."""

import pytest
from django.db import connection, transaction

from customers.importing import sql

pytestmark = pytest.mark.django_db

COLUMNS = [("note", "text"), ("amount", "numeric"), ("count", "integer"), ("flag", "boolean"), ("at", "local")]
TRICKY = ["back\\slash", "tab\there", "two\nlines", "carriage\rreturn", "\\N", "", "普通文本", None]


def staged(by_column) -> list[tuple]:
    with transaction.atomic():
        sql.stage("stg_test", COLUMNS, by_column=by_column)
        with connection.cursor() as cursor:
            cursor.execute("SELECT note, amount, count, flag, at FROM stg_test")
            return cursor.fetchall()


def test_text_with_escapes_and_nulls_round_trips():
    n = len(TRICKY)
    rows = staged([TRICKY, ["12.50"] * n, [3] * n, [True] * n, ["2024-03-01 10:00:00"] * n])

    assert [row[0] for row in rows] == TRICKY


def test_numbers_booleans_timestamps_and_nulls_keep_their_types():
    rows = staged([["a", "b"], ["12.50", None], [7, None], [False, None], ["2024-03-01 10:00:00", None]])

    note, amount, count, flag, at = rows[0]
    assert (note, str(amount), count, flag) == ("a", "12.50", 7, False)
    assert at is not None
    assert rows[1][1:] == (None, None, None, None)
