"""A masked phone cannot be recovered through search: phones match on the last 4 digits, or on the whole number
for a role that may reveal (audited); and searches are rate-limited per user, in the HTML list and the API."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from crm.models import AuditEvent
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = reverse("customers:list")


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def customer():
    return CustomerFactory(buyer_nick="alice", phone="15812348561", phone_tail="8561")


def _found(response) -> list[str]:
    return [c.buyer_nick for c in response.context["customers"]]


@pytest.mark.parametrize("q", ["58123", "8128561", "48561", "158123485", "1581234856", "15812348561"])
@pytest.mark.parametrize("role", ["agent", "staff"])
def test_roles_that_cannot_reveal_find_nobody_by_more_than_the_last_four_digits(q, role, customer, client_for,
                                                                                request):
    user = request.getfixturevalue(role)

    response = client_for(user).get(URL, {"q": q})

    assert _found(response) == []
    assert not AuditEvent.objects.filter(action="phone_search").exists()


def test_every_role_finds_a_customer_by_the_last_four_digits(customer, client_for, agent):
    assert _found(client_for(agent).get(URL, {"q": "8561"})) == ["alice"]


def test_a_manager_finds_by_the_whole_number_and_the_search_is_audited(customer, client_for, manager):
    response = client_for(manager).get(URL, {"q": "158 1234 8561"})

    assert _found(response) == ["alice"]
    audit = AuditEvent.objects.get(action="phone_search")
    assert (audit.actor, audit.object_id) == (manager, str(customer.pk))
    assert audit.detail == {"phone": "158****8561", "customers": [customer.pk]}


def test_a_manager_finds_nobody_by_part_of_a_number(customer, client_for, manager):
    assert _found(client_for(manager).get(URL, {"q": "2348561"})) == []


def test_the_api_matches_phones_the_same_way(customer, api, agent, manager):
    by_agent = api(agent).get("/api/customers/", {"q": "15812348561"}).json()
    by_manager = api(manager).get("/api/customers/", {"q": "15812348561"}).json()

    assert by_agent["results"] == []
    assert [c["buyer_nick"] for c in by_manager["results"]] == ["alice"]
    assert AuditEvent.objects.filter(action="phone_search", actor=manager).count() == 1


def test_searches_past_the_limit_are_refused_for_that_user_only(customer, client_for, agent, staff, settings):
    settings.HUIKE_SEARCH_LIMIT_PER_MINUTE = 3
    client = client_for(agent)

    allowed = [client.get(URL, {"q": "8561"}) for _ in range(3)]
    refused = client.get(URL, {"q": "8562"})
    unfiltered = client.get(URL)
    other_user = client_for(staff).get(URL, {"q": "8561"})

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert refused.status_code == 429 and _found(refused) == []
    assert unfiltered.status_code == 200 and _found(unfiltered) == ["alice"]
    assert other_user.status_code == 200


def test_api_searches_past_the_limit_get_429(customer, api, agent, settings):
    settings.HUIKE_SEARCH_LIMIT_PER_MINUTE = 2
    client = api(agent)

    codes = [client.get("/api/customers/", {"q": "8561"}).status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert client.get("/api/customers/").status_code == 200
