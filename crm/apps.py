from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# Django's form label suffix, translated here because Django's own Chinese catalogue keeps the ASCII colon
# ("买家会员名:"): Chinese text takes the full-width one.
gettext_noop(":")


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Huike CRM")

    def ready(self) -> None:
        from .roles import sync_roles_after_migrate

        # Permissions are created after migrate (and after a test flush); the role groups follow them
        # so a new model's permissions reach the right roles without a hand-written migration each time.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="crm.sync_roles")
