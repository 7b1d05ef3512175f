"""Apps add sections to the customer page through customers.panels, shown only to readers with the permission."""

import pytest

from customers import panels
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def panel_context(customer, user):
    return {"count": {"value": customer.pk * 1000 + 7, "exact": True}}


@pytest.fixture
def reveal_only_panel():
    panels.register_customer_panel(
        "test-count", "customers/_customer_count.html", f"{__name__}.panel_context",
        permission="customers.reveal_pii",
    )
    yield
    panels._panels.pop("test-count")


def test_a_registered_panel_shows_on_the_customer_page_for_permitted_readers(
    reveal_only_panel, client_for, manager, agent
):
    customer = CustomerFactory()
    marker = f'data-count="{customer.pk * 1000 + 7}"'
    assert marker in client_for(manager).get(f"/customers/{customer.pk}/").content.decode()
    assert marker not in client_for(agent).get(f"/customers/{customer.pk}/").content.decode()
