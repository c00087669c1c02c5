"""``AnswerAlert.value`` without a length limit, as ``Score.exact`` (instruments 0015):
the exact value of a ``weighted_scores`` score can be longer than 64 characters."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0001_answer_alerts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='answeralert',
            name='value',
            field=models.TextField(help_text='The exact value that raised it.'),
        ),
    ]
