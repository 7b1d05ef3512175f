"""API tokens expire, die with a password change or a deactivation, and their owner or the superuser can revoke
them (each revocation audited)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import AuditEvent
from tests.crm.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(username: str = "staff") -> str:
    response = APIClient().post("/api/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()["token"]


def _works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/").status_code == 200


def test_a_token_stops_working_after_the_configured_days_and_sign_in_issues_a_new_one(staff, settings):
    settings.HUIKE_API_TOKEN_DAYS = 30
    key = _sign_in()
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=30, minutes=1))

    assert not _works(key)
    fresh = _sign_in()
    assert fresh != key and _works(fresh)


def test_a_token_younger_than_the_limit_works(staff, settings):
    settings.HUIKE_API_TOKEN_DAYS = 30
    key = _sign_in()
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=29))

    assert _works(key)


def test_changing_the_password_on_the_password_page_revokes_the_token(staff, client):
    key = _sign_in()
    client.force_login(staff)

    client.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "Zq7-correct-horse-9",
                                             "new_password2": "Zq7-correct-horse-9"})

    assert not _works(key)
    assert AuditEvent.objects.get(action="token_revoke").reason == "password_changed"


def test_a_superuser_reset_and_the_changepassword_command_revoke_the_token(staff, superuser, client, monkeypatch):
    key = _sign_in()
    client.force_login(superuser)
    client.post(reverse("staff:password", args=[staff.pk]),
                {"new_password1": "Zq7-correct-horse-9", "new_password2": "Zq7-correct-horse-9"})
    assert not _works(key)

    response = APIClient().post("/api/token/", {"username": "staff", "password": "Zq7-correct-horse-9"},
                                format="json")
    key = response.json()["token"]
    monkeypatch.setattr("getpass.getpass", lambda *a, **k: "Other-horse-battery-7")
    call_command("changepassword", "staff")
    assert not _works(key)


def test_deactivating_an_account_revokes_its_token_for_good(staff, superuser, client):
    key = _sign_in()
    client.force_login(superuser)

    client.post(reverse("staff:edit", args=[staff.pk]),
                {"username": "staff", "first_name": "", "email": "", "role": "运营"})  # is_active unticked
    staff.refresh_from_db()
    staff.is_active = True
    staff.save()

    assert not _works(key)
    assert AuditEvent.objects.filter(action="token_revoke", actor=superuser, reason="deactivated").exists()


def test_a_user_revokes_their_own_token_with_delete(staff):
    key = _sign_in()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.delete("/api/token/")

    assert response.status_code == 204
    assert not _works(key)
    audit = AuditEvent.objects.get(action="token_revoke")
    assert (audit.actor, audit.object_id, audit.reason) == (staff, str(staff.pk), "revoked_by_user")


def test_deleting_a_token_needs_a_signed_in_caller(staff):
    key = _sign_in()

    response = APIClient().delete("/api/token/")

    assert response.status_code in (401, 403)
    assert _works(key)


def test_a_user_revokes_their_own_token_on_the_token_page(staff, client):
    key = _sign_in()
    client.force_login(staff)

    page = client.get(reverse("api-token-page")).content.decode()
    response = client.post(reverse("api-token-page"))

    assert key not in page  # the page never shows the key itself
    assert response.status_code == 302
    assert not _works(key)
    assert AuditEvent.objects.filter(action="token_revoke", actor=staff, reason="revoked_by_user").exists()


def test_the_superuser_revokes_anyones_token(staff, superuser, client):
    key = _sign_in()
    client.force_login(superuser)

    response = client.post(reverse("staff:token-revoke", args=[staff.pk]))

    assert response.status_code == 302
    assert not _works(key)
    audit = AuditEvent.objects.get(action="token_revoke")
    assert (audit.actor, audit.object_id, audit.reason) == (superuser, str(staff.pk), "revoked_by_superuser")


def test_nobody_else_revokes_someone_elses_token(staff, manager):
    key = _sign_in()
    client = Client()
    client.force_login(manager)

    response = client.post(reverse("staff:token-revoke", args=[staff.pk]))

    assert response.status_code == 403
    assert _works(key)
