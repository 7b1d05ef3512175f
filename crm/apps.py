from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Huike CRM")

    def ready(self) -> None:
        from .roles import sync_roles_after_migrate

        # Permissions are created after migrate (and after a test flush); the role groups follow them
        # so a new model's permissions reach the right roles without a hand-written migration each time.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="crm.sync_roles")
