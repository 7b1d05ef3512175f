"""A 500 never shows the settings or a password, and no URL serves an uploaded export: in every mode, the
quick-start one (DEBUG on) included."""

import importlib

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import clear_url_caches, path

from crm.models import Job
from customers.models import ImportFile
from tests.crm.factories import JobFactory

pytestmark = pytest.mark.django_db


def _failing_view(request):
    # As a database driver's frames hold them; built at run time, so the page's source excerpt cannot show them.
    dsn = "postgres://huike:" + "db-pw-" + "1@db.internal:5432/huike"  # noqa: F841
    conn_params = {"host": "db.internal", "user": "huike", "password": "db-pw-" + "2"}  # noqa: F841
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _failing_view)]


@pytest.mark.urls("tests.crm.test_error_pages")
def test_the_debug_500_page_shows_no_settings_and_no_password(settings):
    settings.DEBUG = True  # what `manage.py up` runs with
    settings.CELERY_BROKER_URL = "redis://:broker-pw-3@10.0.0.5:6379/0"
    client = Client(raise_request_exception=False)

    response = client.get("/boom/", DATABASE_URL="postgres://huike:env-pw-4@db.internal/huike")

    page = response.content.decode()
    assert response.status_code == 500
    assert "RuntimeError" in page  # still a useful page for the developer
    for secret in ("db-pw-1", "db-pw-2", "broker-pw-3", "env-pw-4", settings.SECRET_KEY):
        assert secret not in page
    assert "CELERY_BROKER_URL" not in page and "INSTALLED_APPS" not in page


@pytest.fixture
def debug_urls(settings):
    """The URLs as the quick-start mode builds them (crm.urls is read with DEBUG on), restored afterwards."""
    import crm.urls

    settings.DEBUG = True
    importlib.reload(crm.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(crm.urls)
    clear_url_caches()


def test_an_uploaded_export_is_not_served_to_an_anonymous_caller(debug_urls, settings):
    job = JobFactory(kind="import_orders", status=Job.Status.SUCCEEDED)
    upload = ImportFile(job=job, original_name="ExportOrderList.csv")
    upload.file.save("ExportOrderList.csv", ContentFile("订单编号,收货人手机\n1,13812341234\n".encode("gb18030")))

    response = Client().get(upload.file.url)

    assert response.status_code == 404
    assert b"13812341234" not in b"".join(getattr(response, "streaming_content", [response.content]))
    assert str(settings.MEDIA_ROOT) not in upload.file.path
    assert upload.file.path.startswith(str(settings.STORAGES["private"]["OPTIONS"]["location"]))
