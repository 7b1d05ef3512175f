"""A superuser manages staff accounts in the UI; nobody else can."""

import pytest
from django.contrib.auth import get_user_model

from crm.models import AuditEvent
from crm.roles import AGENT, STAFF

pytestmark = pytest.mark.django_db


def test_a_superuser_creates_an_account_with_a_role(client_for, superuser):
    client = client_for(superuser)

    response = client.post("/staff/new/", {"username": "xiaoli", "first_name": "小李", "email": "",
                                            "is_active": "on", "role": STAFF, "password": "Shop-Staff-2026"})

    assert response.status_code == 302
    user = get_user_model().objects.get(username="xiaoli")
    assert [g.name for g in user.groups.all()] == [STAFF]
    assert user.check_password("Shop-Staff-2026")


def test_a_weak_password_is_rejected_with_a_message(client_for, superuser):
    response = client_for(superuser).post("/staff/new/", {"username": "weak", "role": STAFF, "password": "123",
                                                          "is_active": "on"})

    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not get_user_model().objects.filter(username="weak").exists()


def test_changing_a_role_replaces_the_old_one_and_is_audited(client_for, superuser, staff):
    response = client_for(superuser).post(f"/staff/{staff.pk}/", {"username": "staff", "is_active": "on",
                                                                   "role": AGENT})

    assert response.status_code == 302
    assert [g.name for g in staff.groups.all()] == [AGENT]
    event = AuditEvent.objects.get(action="role_change")
    assert event.detail == {"from": STAFF, "to": AGENT}


def test_a_manager_cannot_manage_accounts(client_for, manager, staff):
    response = client_for(manager).post(f"/staff/{staff.pk}/", {"username": "staff", "role": AGENT})

    assert response.status_code == 403
    assert [g.name for g in staff.groups.all()] == [STAFF]
