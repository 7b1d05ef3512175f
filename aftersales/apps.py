from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self) -> None:
        from crm.registry import register_area, register_role_rules
        from crm.roles import AGENT, MANAGER

        register_area("aftersales", _("After-sales"), description=_("Complaints, returns and refunds."), order=60)
        register_role_rules(
            "aftersales",
            {
                MANAGER: {"allow": ["aftersales.*"]},
                AGENT: {"allow": ["aftersales.*"]},
            },
        )
