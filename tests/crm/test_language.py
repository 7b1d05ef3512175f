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


def test_form_labels_end_with_the_full_width_colon_in_chinese():
    from django import forms
    from django.utils import translation

    class NameForm(forms.Form):
        name = forms.CharField(label="昵称")

    with translation.override("zh-hans"):
        assert "昵称：" in NameForm().as_div()
    with translation.override("en"):
        assert "昵称:" in NameForm().as_div()
