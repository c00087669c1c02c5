"""Exact values without a length limit: ``Score.exact`` and ``ResponderStatus.change``.

They held 64 characters, enough for every method until ``weighted_scores``: its fraction
has as many digits as the file's weights, means and SDs give (a file of 10-decimal
coefficients gives 68 and more), and on PostgreSQL a completed response then could not
be stored. varchar(64) to text needs no table rewrite on PostgreSQL.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('instruments', '0014_score_slots'),
    ]

    operations = [
        migrations.AlterField(
            model_name='responderstatus',
            name='change',
            field=models.TextField(blank=True, help_text='Exact improvement.'),
        ),
        migrations.AlterField(
            model_name='score',
            name='exact',
            field=models.TextField(),
        ),
    ]
