"""Audit actions become codes that apps register with their labels (crm.registry), not choices that need a
migration each; the areas' permissions move to their apps (campaigns.access, …), so the old ones go."""

from django.db import migrations, models


def area_permissions_remove(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="crm",
        codename__in=["access_customers", "access_campaigns", "access_reviews", "access_aftersales"],
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0004_job_heartbeat_audit_create'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='area',
            options={'default_permissions': (), 'managed': False, 'permissions': [('access_dashboard', 'Can open the dashboards')]},
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(db_index=True, max_length=40, verbose_name='action'),
        ),
        migrations.RunPython(area_permissions_remove, migrations.RunPython.noop),
    ]
