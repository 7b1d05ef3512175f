from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self) -> None:
        from crm.registry import register_navigation, register_role_rules, register_urls
        from crm.roles import AGENT, MANAGER

        register_urls("reviews/", "reviews.urls")
        register_navigation("reviews:index", _("Reviews"), permission="reviews.access", order=50,
                            description=_("Reviews, bad-review recovery and surveys."))
        register_role_rules(
            "reviews",
            {
                MANAGER: {"allow": ["reviews.*"]},
                AGENT: {"allow": ["reviews.*"]},
            },
        )
