import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database_and_the_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


def test_healthz_answers_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_healthz_tells_an_anonymous_caller_only_which_part_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == {"ok": False}
    assert body["database"] == {"ok": True}
    assert "127.0.0.1" not in response.content.decode() and ":1" not in response.content.decode()


def test_healthz_gives_the_superuser_the_error(client, settings, django_user_model):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    client.force_login(django_user_model.objects.create_superuser("root", password="x-Long-pass-1"))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"]["error"]
