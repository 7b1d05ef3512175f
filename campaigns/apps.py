from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Marketing")

    def ready(self) -> None:
        from crm.registry import register_navigation, register_role_rules, register_urls
        from crm.roles import MANAGER, STAFF

        register_urls("campaigns/", "campaigns.urls")
        register_navigation("campaigns:index", _("Marketing"), permission="campaigns.access", order=40,
                            description=_("Coupons and campaigns to segments."))
        register_role_rules(
            "campaigns",
            {
                MANAGER: {"allow": ["campaigns.*"]},
                # Staff prepare campaigns; managers approve them and take data out.
                STAFF: {"allow": ["campaigns.*"], "deny": ["campaigns.approve_*", "campaigns.export_*"]},
            },
        )
