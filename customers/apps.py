from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm.models import register_job_kind
        from crm.registry import register_api, register_audit_actions, register_navigation, register_urls

        from .api import register as register_api_routes
        from .audit import CustomerAudit
        from .note_conditions import register_note_conditions
        from .roles import register_customer_role_rules
        from .schedule import register_customer_beat
        from .segmentation.lifecycle import register_lifecycle_kind

        # Segment conditions other modules add to the builder's registry (here: notes written by the team).
        register_note_conditions()
        register_lifecycle_kind()
        register_job_kind("import_orders", _("Order import"))
        register_job_kind("export_customers", _("Customer export"))
        register_urls("customers/", "customers.urls")
        register_api(register_api_routes)
        register_navigation("customers:list", _("Customers"), permission="customers.view_customer", order=10,
                            description=_("Every buyer with orders, addresses, notes and history."))
        register_navigation("customers:import", _("Import orders"), permission="customers.import_orders", order=20,
                            description=_("Upload the seller-centre order, item and refund exports."))
        register_navigation("customers:segments", _("Segments"), permission="customers.view_segment", order=30,
                            description=_("RFM, lifecycle stages, tags, tiers and saved customer groups."))
        register_audit_actions(CustomerAudit.choices)
        register_customer_beat()
        register_customer_role_rules()
