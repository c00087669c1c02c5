"""A cancelled reminder no longer blocks its kind: a paused patient, once resumed, and a
moved visit get that message planned again (reminders.plan_reminders)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('followups', '0006_code_format'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='reminder',
            name='followups_reminder_once',
        ),
        migrations.AddConstraint(
            model_name='reminder',
            constraint=models.UniqueConstraint(condition=models.Q(models.Q(('kind', 'manual'), _negated=True), models.Q(('status', 'cancelled'), _negated=True)), fields=('visit', 'kind'), name='followups_reminder_once'),
        ),
    ]
