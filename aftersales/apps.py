from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self) -> None:
        from crm.registry import register_navigation, register_role_rules, register_urls
        from crm.roles import AGENT, MANAGER

        register_urls("aftersales/", "aftersales.urls")
        register_navigation("aftersales:index", _("After-sales"), permission="aftersales.access", order=60,
                            description=_("Complaints, returns and refunds."))
        register_role_rules(
            "aftersales",
            {
                MANAGER: {"allow": ["aftersales.*"]},
                AGENT: {"allow": ["aftersales.*"]},
            },
        )
