"""`manage.py seed_demo`: demo logins plus a demo shop imported through the real importer."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from crm.demo_accounts import DEMO_ACCOUNTS
from customers.models import Customer, Order, OrderLine, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "refunds": Refund.objects.count(),
    }


def test_it_creates_one_login_per_role_and_a_customer_base_from_real_looking_exports(debug, tmp_path):
    # when
    call_command("seed_demo", orders=300, buyers=60, directory=tmp_path)

    # then every demo login exists with its role
    User = get_user_model()
    for account in DEMO_ACCOUNTS:
        user = User.objects.get(username=account.username)
        assert user.check_password(account.password)
        assert account.role is None or user.groups.filter(name=account.role).exists()
    # and the shop was imported from the files it wrote: every order, every buyer, with Chinese names and regions
    assert sorted(p.name[:15] for p in tmp_path.iterdir()) == ["ExportOrderDeta", "ExportOrderList", "RefundExport202"]
    assert Order.objects.count() == 300
    assert Customer.objects.count() == 60
    assert OrderLine.objects.count() >= 300
    assert Customer.objects.exclude(province="").count() == 60
    assert Customer.objects.filter(total_paid__gt=0).exists()


def test_running_it_twice_duplicates_nothing(debug, tmp_path):
    # given
    call_command("seed_demo", orders=200, buyers=50, directory=tmp_path)
    before = counts()

    # when
    call_command("seed_demo", orders=200, buyers=50, directory=tmp_path)

    # then
    assert counts() == before
    assert len(list(tmp_path.iterdir())) == 3


def test_orders_zero_creates_only_the_logins(debug, tmp_path):
    call_command("seed_demo", orders=0, directory=tmp_path)

    assert get_user_model().objects.filter(username="manager").exists()
    assert not Customer.objects.exists()
    assert not list(tmp_path.iterdir())


def test_it_refuses_with_debug_off_unless_forced(settings, tmp_path):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", orders=0, directory=tmp_path)
    assert not get_user_model().objects.exists()

    call_command("seed_demo", orders=0, directory=tmp_path, force=True)
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()

