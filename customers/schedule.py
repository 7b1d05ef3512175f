"""The customer base's periodic work, registered with Celery beat (shop local time)."""

from celery.schedules import crontab

from crm.registry import register_beat


def register_customer_beat() -> None:
    # Stages age, points expire and RFM quintiles move with the date alone: refresh at 02:00, after the day's
    # last orders and before the shop opens, so morning campaigns and dashboards see today's segments.
    register_beat("segmentation-nightly", "customers.tasks.segmentation_nightly_task", crontab(hour=2, minute=0))
    # Taobao-style yearly tier review: on 1 January at 04:00, after the nightly refresh has counted the year.
    register_beat("tiers-yearly-review", "customers.tasks.tiers_yearly_review_task",
                  crontab(month_of_year=1, day_of_month=1, hour=4, minute=0))
    # Big customer exports wait in private storage for their download: delete them after 7 days, at night.
    register_beat("export-files-purge", "customers.tasks.customer_export_files_purge_task",
                  crontab(hour=3, minute=50))
    # Uploaded exports carry buyers' personal data: delete them 30 days after their import, at a quiet hour.
    register_beat("import-uploads-purge", "customers.tasks.import_uploads_purge_task", crontab(hour=3, minute=45))
