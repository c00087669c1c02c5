"""Answer alert emails through real Celery workers on the real Redis broker, on PostgreSQL:
queued when the response commits, sent once however often the task is queued."""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from outcomes.alerts.models import AnswerAlert
from outcomes.alerts.tasks import notify_alert_task, notify_pending_alerts

from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHQ9 = (Path(__file__).resolve().parents[2] / "outcomes" / "instruments" / "library"
        / "catalogue" / "phq9.json")


def test_two_workers_and_every_task_queued_twice_send_each_alert_once(study, workers):
    from django.utils import timezone

    from outcomes.instruments.models import Instrument
    from outcomes.instruments.services import complete_response, save_answers
    from tests.factories import enrol, staff

    coordinator = staff("coord", "Coordinators")
    coordinator.email = "coord@example.org"
    coordinator.save()
    call_command("import_instrument", str(PHQ9), stdout=StringIO())
    phq9 = Instrument.objects.get(code="phq9")
    workers.start("w1", concurrency=2)
    workers.start("w2", concurrency=2)
    today = timezone.now().date()
    for n in range(6):
        visit = enrol(study, f"AL-{n}", index_date=today, today=today).visits.get(
            timepoint__code="baseline")
        answers = {**{f"phq{k}": 0 for k in range(1, 9)}, "phq9": 1 + n % 3}
        # Completed in its own transaction: the email task is published on commit.
        complete_response(response=save_answers(visit=visit, instrument=phq9,
                                                answers=answers))
    assert AnswerAlert.objects.count() == 6
    for alert_id in AnswerAlert.objects.values_list("pk", flat=True):
        workers.enqueue(notify_alert_task, alert_id)
    workers.enqueue(notify_pending_alerts)
    workers.enqueue(notify_pending_alerts)
    wait_for(lambda: AnswerAlert.objects.filter(notification="sent").count() == 6,
             timeout=90, message="six alert emails sent")
    time.sleep(3)  # let any duplicate in flight land before counting
    assert workers.mail_count() == 6
    mail = "".join(p.read_text() for p in (workers.tmp / "mail").iterdir())
    assert "AL-" not in mail and "Several days" not in mail
    assert AnswerAlert.objects.filter(notify_attempts=1).count() == 6
