"""The demo logins as `manage.py up` lists them in its banner (crm/demo_accounts.py)."""

import pytest
from django.utils import translation

from crm.demo_accounts import DEMO_ACCOUNTS


@pytest.mark.parametrize("language, label", [("zh-hans", "店长"), ("en", "店长 (Manager)")])
def test_the_banner_names_each_role_once_in_chinese_and_with_its_label_in_english(language, label):
    manager = next(account for account in DEMO_ACCOUNTS if account.username == "manager")

    with translation.override(language):
        assert manager.role_label == label
