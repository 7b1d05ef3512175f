import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_pages_are_chinese_even_when_the_browser_asks_for_english(client_for, manager):
    response = client_for(manager).get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert response.headers["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in response.content.decode()


def test_the_language_switcher_changes_the_language_and_it_sticks(client_for, manager):
    client = client_for(manager)

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get("/")

    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert response.headers["Content-Language"] == "en"
