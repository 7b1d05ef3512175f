from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self) -> None:
        from crm.registry import register_area, register_role_rules
        from crm.roles import AGENT, MANAGER

        register_area("reviews", _("Reviews"), description=_("Reviews, bad-review recovery and surveys."), order=50)
        register_role_rules(
            "reviews",
            {
                MANAGER: {"allow": ["reviews.*"]},
                AGENT: {"allow": ["reviews.*"]},
            },
        )
