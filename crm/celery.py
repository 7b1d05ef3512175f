import os

from celery import Celery
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")

app = Celery("crm")
# Every Celery setting lives in Django settings as CELERY_<NAME>.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_schedule() -> dict:
    """Every periodic task: what settings list (CELERY_BEAT_SCHEDULE) and what apps registered
    (crm.registry.register_beat in their AppConfig.ready())."""
    import django
    from django.apps import apps
    from django.conf import settings

    if not apps.ready:
        django.setup()
    from crm.registry import registry

    return {**settings.CELERY_BEAT_SCHEDULE, **registry.beat}


class AppsBeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler, reading the schedule once Django's apps have registered theirs (beat may
    build its app before Django is set up, so the schedule cannot be fixed in settings)."""

    def setup_schedule(self):
        self.app.conf.beat_schedule = beat_schedule()
        super().setup_schedule()
