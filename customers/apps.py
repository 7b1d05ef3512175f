from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        # Segment conditions other modules add to the builder's registry (here: notes written by the team).
        from crm.models import register_job_kind

        from .note_conditions import register_note_conditions

        register_note_conditions()
        register_job_kind("import_orders", _("Order import"))
        register_job_kind("export_customers", _("Customer export"))
