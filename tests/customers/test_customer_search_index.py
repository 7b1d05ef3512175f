"""The name-substring search of the customer list is one the trigram indexes serve (PostgreSQL), and the same
search works without them (SQLite). The speed itself is measured in bench/customer_list_bench.py."""

import pytest
from django.db import connection, transaction
from django.http import QueryDict

from customers import selectors
from customers.selectors import customer_possible_duplicates
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # A test table is tiny, so the planner would rightly scan it: forbid that, to learn whether the index
        # can serve the query at all (an index on another expression than the query's would not be usable).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(line for (line,) in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.parametrize("column", ["buyer_nick", "display_nick", "real_name"])
def test_the_list_search_can_use_the_trigram_index_of_each_name(column):
    from customers.filters import CustomerFilter
    from customers.models import Customer

    CustomerFactory(buyer_nick="tb_小明同学", display_nick="小明的店", real_name="王小明")

    # The search condition alone, as the filter builds it (the list adds the active-customer filter and the order)
    searched = CustomerFilter().filter_search(Customer.objects.all(), "q", "小明同")

    assert f"customer_{column}_trgm" in _plan(searched)


@pytest.mark.postgres
def test_the_twin_check_by_name_can_use_the_trigram_indexes():
    from customers.models import Customer

    queryset = Customer.objects.filter(display_nick__iexact="Lily小店")

    assert "customer_display_nick_trgm" in _plan(queryset)


def test_a_substring_search_finds_names_whatever_the_case_and_the_database():
    wanted = CustomerFactory(buyer_nick="Summer_Shop", identity_key="nick:Summer_Shop", display_nick="",
                             real_name="")
    by_nick = CustomerFactory(display_nick="夏日summer小铺")
    CustomerFactory(buyer_nick="winter", display_nick="冬天", real_name="李四")

    found = set(selectors.customer_filter(params=QueryDict("q=SUMMER")).qs.values_list("pk", flat=True))

    assert found == {wanted.pk, by_nick.pk}
    assert customer_possible_duplicates(display_nick="summer_shop") == [wanted]
