from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Marketing")

    def ready(self) -> None:
        from crm.registry import register_area, register_role_rules
        from crm.roles import MANAGER, STAFF

        register_area("campaigns", _("Marketing"), description=_("Coupons and campaigns to segments."), order=40)
        register_role_rules(
            "campaigns",
            {
                MANAGER: {"allow": ["campaigns.*"]},
                # Staff prepare campaigns; managers approve them and take data out.
                STAFF: {"allow": ["campaigns.*"], "deny": ["campaigns.approve_*", "campaigns.export_*"]},
            },
        )
