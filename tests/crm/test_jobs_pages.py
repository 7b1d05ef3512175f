import pytest

from tests.crm.factories import JobFactory

pytestmark = pytest.mark.django_db


def test_the_job_list_names_each_kind_of_job_in_the_shop_language(client_for, manager):
    JobFactory(kind="import_orders", created_by=manager)

    page = client_for(manager).get("/jobs/").content.decode()

    assert "订单导入" in page
    assert "import_orders" not in page
