# Segmentation speed (issue #4, segment_bench): the products each customer bought, for segment insight, and an
# index serving region + recency + spend segment counts.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0008_customer_name_trigram_search'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerProduct',
            fields=[
                ('customer', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='customers.customer')),
                ('product', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='customers.product')),
                ('pk', models.CompositePrimaryKey('customer', 'product', blank=True, editable=False, primary_key=True, serialize=False)),
            ],
            options={
                'verbose_name': 'product bought',
                'verbose_name_plural': 'products bought',
            },
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(condition=models.Q(('merged_into__isnull', True)), fields=['province', 'last_paid_at', 'total_paid', 'id'], name='customer_region_paid_active'),
        ),
    ]
