"""The kernel (crm) knows no app: apps plug in their pages, API, navigation, audit actions, beat entries and
role rules from their AppConfig.ready(), and the kernel reads them from crm.registry."""

import ast
import importlib
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from crm.celery import beat_schedule
from crm.context_processors import allowed_navigation
from crm.models import AuditEvent
from crm.registry import registry
from crm.roles import AGENT, MANAGER, STAFF, role_allows
from crm.services import audit_record

APPS = ("customers", "campaigns", "reviews", "aftersales", "dashboards")
CONFIGURATION = ("settings", "urls.py", "api.py", "celery.py", "wsgi.py", "asgi.py")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_kernel_module_imports_an_app():
    kernel = Path(settings.BASE_DIR) / "crm"
    offenders = []
    for path in kernel.rglob("*.py"):
        relative = path.relative_to(kernel)
        if relative.parts[0] in CONFIGURATION or relative.parts[0] == "migrations":
            continue
        for module in _imported_modules(path):
            if module.split(".")[0] in APPS:
                offenders.append(f"{relative}: {module}")
    assert offenders == []


def test_navigation_comes_from_every_app_in_order(manager):
    labels = [item["url_name"] for item in allowed_navigation(manager)]
    assert labels == [
        "home", "customers:list", "customers:import", "customers:segments", "campaigns:index", "reviews:index",
        "aftersales:index", "dashboard", "jobs",
    ]


def test_registered_pages_are_mounted_and_open_for_their_roles(client, staff, agent):
    client.force_login(staff)
    assert client.get(reverse("campaigns:index")).status_code == 200
    assert client.get(reverse("reviews:index")).status_code == 403
    client.force_login(agent)
    assert client.get(reverse("reviews:index")).status_code == 200
    assert client.get(reverse("aftersales:index")).status_code == 200
    assert client.get(reverse("campaigns:index")).status_code == 403


def test_role_rules_combine_over_apps():
    assert role_allows(STAFF, "campaigns.access")
    assert not role_allows(STAFF, "campaigns.approve_campaign")
    assert not role_allows(AGENT, "campaigns.access")
    # A deny an app registers for everyone (the append-only timeline) holds for the manager too.
    assert not role_allows(MANAGER, "customers.delete_timelineevent")
    # The kernel's "agents export nothing" applies to every app's export permissions.
    assert not role_allows(AGENT, "aftersales.export_ticket")
    assert role_allows(AGENT, "aftersales.view_ticket")


def test_api_routes_come_from_the_apps(client, manager):
    client.force_login(manager)
    root = client.get("/api/").json()
    assert "customers" in root


def test_beat_schedule_holds_every_apps_entries_and_each_task_exists():
    schedule = beat_schedule()
    assert {"prune-old-jobs", "fail-abandoned-jobs", "segmentation-nightly", "import-uploads-purge"} <= set(schedule)
    for name, entry in schedule.items():
        module, function = entry["task"].rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function)), name


@pytest.mark.django_db
def test_audit_actions_are_registered_codes_with_labels(monkeypatch):
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(actor=None, action="made_up")
    monkeypatch.setitem(registry.audit_actions, "coupon_issue", "Coupon issued")
    event = audit_record(actor=None, action="coupon_issue")
    assert AuditEvent.objects.get(pk=event.pk).action_label == "Coupon issued"
    assert audit_record(actor=None, action="merge").action_label in {"Merge customers", "合并客户"}


def test_a_services_validation_error_is_a_400_with_field_paths(rf):
    from django.core.exceptions import ValidationError
    from rest_framework.exceptions import ValidationError as DRFValidationError

    from crm.api_errors import exception_handler

    response = exception_handler(ValidationError({"phone": ["bad"], "__all__": ["clash"]}), {})
    assert response.status_code == 400
    assert response.data == {"phone": ["bad"], "non_field_errors": ["clash"]}
    assert exception_handler(ValidationError("plain"), {}).data == {"non_field_errors": ["plain"]}
    assert exception_handler(DRFValidationError({"x": ["y"]}), {}).status_code == 400
