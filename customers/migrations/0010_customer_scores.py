# Segmentation speed (issue #4, segment_bench (c)): RFM scores and lifecycle stage move from the customer row to
# a narrow one-to-one table, so that scoring writes narrow rows instead of wide, heavily indexed customer rows.
# The existing scores move with it (unmerged customers that have any); the index is built after the copy.

import django.db.models.deletion
from django.db import migrations, models

import crm.db

SCORED = "c.merged_into_id IS NULL AND (c.rfm_r IS NOT NULL OR c.rfm_group <> '' OR c.lifecycle_stage <> '')"


def scores_copy(apps, schema_editor):
    customers = apps.get_model("customers", "Customer")._meta.db_table
    scores = apps.get_model("customers", "CustomerScore")._meta.db_table
    schema_editor.execute(
        f"""INSERT INTO {scores} (customer_id, rfm_r, rfm_f, rfm_m, rfm_group, lifecycle_stage, lifecycle_changed_at,
                                  last_paid_at)
            SELECT c.id, c.rfm_r, c.rfm_f, c.rfm_m, c.rfm_group, c.lifecycle_stage, c.lifecycle_changed_at,
                   c.last_paid_at
            FROM {customers} c WHERE {SCORED}"""
    )


def scores_copy_back(apps, schema_editor):
    customers = apps.get_model("customers", "Customer")._meta.db_table
    scores = apps.get_model("customers", "CustomerScore")._meta.db_table
    schema_editor.execute(
        f"""UPDATE {customers} SET rfm_r = s.rfm_r, rfm_f = s.rfm_f, rfm_m = s.rfm_m, rfm_group = s.rfm_group,
                lifecycle_stage = s.lifecycle_stage, lifecycle_changed_at = s.lifecycle_changed_at
            FROM {scores} s WHERE {customers}.id = s.customer_id"""
    )


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0009_products_bought_and_region_paid_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerScore',
            fields=[
                ('customer', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='score', serialize=False, to='customers.customer')),
                ('rfm_r', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='R score')),
                ('rfm_f', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='F score')),
                ('rfm_m', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='M score')),
                ('rfm_group', models.CharField(blank=True, max_length=24, verbose_name='RFM group')),
                ('lifecycle_stage', models.CharField(blank=True, max_length=12, verbose_name='lifecycle stage')),
                ('lifecycle_changed_at', models.DateTimeField(blank=True, null=True, verbose_name='stage since')),
                ('last_paid_at', models.DateTimeField(blank=True, null=True, verbose_name='last paid order')),
            ],
            options={
                'verbose_name': 'customer score',
                'verbose_name_plural': 'customer scores',
            },
        ),
        migrations.RunPython(scores_copy, scores_copy_back),
        migrations.AddIndex(
            model_name='customerscore',
            index=crm.db.NullsLastIndex(models.F('lifecycle_stage'), models.OrderBy(models.F('last_paid_at'), descending=True, nulls_last=True), models.F('customer'), name='customerscore_stage_recent'),
        ),
        migrations.RemoveIndex(
            model_name='customer',
            name='customer_stage_recent',
        ),
        migrations.RemoveField(model_name='customer', name='lifecycle_changed_at'),
        migrations.RemoveField(model_name='customer', name='lifecycle_stage'),
        migrations.RemoveField(model_name='customer', name='rfm_f'),
        migrations.RemoveField(model_name='customer', name='rfm_group'),
        migrations.RemoveField(model_name='customer', name='rfm_m'),
        migrations.RemoveField(model_name='customer', name='rfm_r'),
    ]
