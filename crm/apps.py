from celery.schedules import crontab
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
        from .context_processors import register_kernel_navigation
        from .registry import register_audit_actions, register_beat
        from .roles import register_kernel_role_rules, sync_roles_after_migrate

        register_kernel_role_rules()
        register_kernel_navigation()
        register_audit_actions({"role_change": _("Role change"), "token_revoke": _("API token revoked")})
        # Finished jobs older than their retention are pruned at night, when nobody is importing.
        register_beat("prune-old-jobs", "crm.tasks.prune_finished_jobs", crontab(hour=3, minute=30))
        # A job whose worker died and that no redelivered task took over would show "running" forever: every
        # 5 minutes, all day (imports happen in shop hours), fail the abandoned ones with the reason.
        register_beat("fail-abandoned-jobs", "crm.tasks.jobs_fail_abandoned", crontab(minute="*/5"))

        # Permissions are created after migrate (and after a test flush); the role groups follow them
        # so a new model's permissions reach the right roles without a hand-written migration each time.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="crm.sync_roles")
