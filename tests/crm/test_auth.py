"""Signing in: CSRF on forms, lockout after repeated failures, token authentication for the API."""

import pytest
from django.conf import settings
from django.test import Client

from tests.crm.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_form_post_without_a_csrf_token_is_refused(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)

    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "x" * 20,
                                                   "new_password2": "x" * 20})

    assert response.status_code == 403
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


def test_a_form_post_with_the_csrf_token_goes_through(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    token = client.get("/accounts/password/").context["csrf_token"]

    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "a-new-Secret-99",
                                                   "new_password2": "a-new-Secret-99", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.check_password("a-new-Secret-99")


def test_an_account_is_locked_after_repeated_failed_logins(client, staff):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "staff", "password": "wrong"})

    response = client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert b"locked-out" in response.content


def test_failures_below_the_limit_do_not_lock(client, staff):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "staff", "password": "wrong"})

    response = client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_the_session_ends_after_the_idle_timeout_and_each_request_extends_it():
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 4 * 60 * 60


def test_an_api_token_is_issued_for_valid_credentials_and_authenticates(api_client, staff):
    response = api_client.post("/api/token/", {"username": "staff", "password": PASSWORD}, format="json")
    token = response.json()["token"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api_client.get("/api/").status_code == 200


def test_the_api_refuses_anonymous_callers(api_client):
    assert api_client.get("/api/").status_code == 403
