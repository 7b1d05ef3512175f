from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Job
from .registry import audit_action_choices


class AuditActionFilter(admin.SimpleListFilter):
    """The actions apps registered, by their labels (the field has no choices: crm.registry)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return audit_action_choices()

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action_label", "object_type", "object_id"]
    list_filter = [AuditActionFilter]

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, event):
        return event.action_label

    # The audit log is append-only and written by the code that does the audited thing: nobody, the superuser
    # included, adds a row by hand (a backdated "reveal" would be indistinguishable from a real one).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
