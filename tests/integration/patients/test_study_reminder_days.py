"""A study's reminder days and last call, checked against its time points' windows.

SPEC section 5: reminders go days after the invitation while the visit is incomplete, and
a last call before the window closes. A setting under which a reminder would never go
(after a window closes, or on or after its last call) is refused where it is set, naming
the field and the visit in people words, not left for the reminder run to drop quietly.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from outcomes.followups.models import TimePoint
from tests.admin_forms import admin_form_data, change_url
from tests.factories import staff


def refusal(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        obj.full_clean()
    return error.value.message_dict


def test_the_demo_studys_reminders_fit_its_schedule(study):
    study.full_clean()  # [3, 7] and a last call 2 days before the close


@pytest.mark.parametrize(("days", "message"), [
    ([3, 3, 7], "Reminder days list day 3 twice; each reminder has its own day."),
    ([-1, 3], "Reminder days count from the day the window opens (the invitation's day), "
              "so each is 1 or more; -1 is not."),
    ([0], "Reminder days count from the day the window opens (the invitation's day), so "
          "each is 1 or more; 0 is not."),
    ("3, 7", "Reminder days must be a list of whole days after the window opens, e.g. [3, 7]."),
])
def test_repeated_negative_or_malformed_reminder_days_are_refused_by_field(study, days,
                                                                           message):
    study.reminder_days = days
    assert refusal(study) == {"reminder_days": [message]}


def test_a_reminder_after_a_windows_close_is_refused_naming_the_time_point(study):
    # The demo schedule: the 1-month window is open 7 days before day 30 to 14 after
    # (21 days after it opens), the 3-month 14 before and 14 after (28 days).
    study.reminder_days = [3, 25]
    assert refusal(study) == {"reminder_days": [
        "Reminder day 25 falls after the 1-month visit's window closes, 21 days after it "
        "opens."]}


def test_a_reminder_the_last_call_would_overtake_is_refused_naming_the_time_point(study):
    study.reminder_days = [3, 20]
    assert refusal(study) == {"reminder_days": [
        "Reminder day 20 would never go for the 1-month visit: its last call goes first, "
        "19 days after the window opens (2 days before it closes)."]}


def test_a_last_call_before_a_window_opens_is_refused_naming_the_time_point(study):
    study.reminder_days = []  # (with a last call on day 3 of the 3-month window, 3 and 7
    study.last_call_days_before_close = 25  # would never go: refused too, as above)
    assert refusal(study) == {"last_call_days_before_close": [
        "A last call 25 days before the close comes before the 1-month visit's window opens "
        "(it closes 21 days after it opens); at most 20."]}


def test_a_time_point_whose_window_is_too_short_for_the_reminders_is_refused(study):
    m1 = TimePoint.objects.get(study=study, code="m1")
    m1.window_after_days = 2  # open from 7 days before day 30 to 2 after: 9 days
    assert refusal(m1) == {"window_after_days": [
        "The window is too short for the study's reminders. Reminder day 7 would never go "
        "for the 1-month visit: its last call goes first, 7 days after the window opens "
        "(2 days before it closes)."]}
    m1.window_after_days = 3
    m1.full_clean()


def test_the_study_admin_says_so_under_the_field(client, study):
    manager = staff("dm", "Data managers")
    manager.is_staff = True
    manager.save()
    client.force_login(manager)
    data = admin_form_data(client.get(change_url(study)))
    data["sites"] = [str(pk) for pk in study.sites.values_list("pk", flat=True)]
    data["reminder_days"] = "[3, 7, 3]"
    page = client.post(change_url(study), data)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["reminder_days"] == [
        "Reminder days list day 3 twice; each reminder has its own day."]
    study.refresh_from_db()
    assert study.reminder_days == [3, 7]
