"""/admin/ cannot write the audit log: nobody adds, changes or deletes an audit event there."""

import pytest
from django.urls import reverse

from crm.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_nobody_adds_changes_or_deletes_audit_events_in_the_admin(admin_client, superuser):
    event = AuditEvent.objects.create(actor=superuser, action="export")

    add = admin_client.get(reverse("admin:crm_auditevent_add"))
    backdated = admin_client.post(reverse("admin:crm_auditevent_add"),
                                  {"created_at_0": "2024-01-01", "created_at_1": "00:00:00", "action": "reveal"})
    change = admin_client.post(reverse("admin:crm_auditevent_change", args=[event.pk]), {"action": "reveal"})
    delete = admin_client.post(reverse("admin:crm_auditevent_delete", args=[event.pk]), {"post": "yes"})

    assert add.status_code == 403 and backdated.status_code == 403
    assert delete.status_code == 403
    assert change.status_code == 403
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["export"]
    assert admin_client.get(reverse("admin:crm_auditevent_changelist")).status_code == 200
