"""A time point's instruments are read once per process, and a change is seen at once."""

from __future__ import annotations

import pytest

from outcomes.followups.models import TimePoint, TimePointInstrument, Visit
from outcomes.instruments.models import Instrument
from outcomes.survey.selectors import steps_for

pytestmark = pytest.mark.django_db


def page_one(client, token) -> str:
    reply = client.get(f"/s/{token}/1/")
    assert reply.status_code == 200
    return reply.content.decode()


def test_the_list_is_read_once_while_the_time_point_is_unchanged(visit, token,
                                                                 django_assert_num_queries):
    steps_for(visit)
    again = Visit.objects.select_related("timepoint").get(pk=visit.pk)  # as a request reads it
    with django_assert_num_queries(1):  # the visit's responses only
        steps = steps_for(again)
    assert [s.instrument.code for s in steps] == ["odi", "nrs11", "eq5d3l", "promis_gh"]


def test_an_instrument_removed_or_added_shows_on_the_next_page(client, visit, token):
    assert "Questionnaire 1 of 4" in page_one(client, token)
    baseline = visit.timepoint
    TimePointInstrument.objects.get(timepoint=baseline, instrument__code="promis_gh").delete()
    assert "Questionnaire 1 of 3" in page_one(client, token)

    promis = Instrument.objects.get(code="promis_gh")
    baseline.instruments.add(promis, through_defaults={"order": 9})
    assert "Questionnaire 1 of 4" in page_one(client, token)

    baseline.instruments.remove(promis)
    assert "Questionnaire 1 of 3" in page_one(client, token)


def test_a_new_order_shows_on_the_next_page(client, visit, token):
    assert "Oswestry" in page_one(client, token)
    odi = TimePointInstrument.objects.get(timepoint=visit.timepoint, instrument__code="odi")
    odi.order = 99
    odi.save()
    page = page_one(client, token)
    assert "Oswestry" not in page
    assert "Numeric" in page


def test_every_change_gives_a_new_version(visit):
    baseline = visit.timepoint
    seen = [TimePoint.objects.get(pk=baseline.pk).instruments_version]
    item = TimePointInstrument.objects.get(timepoint=baseline, instrument__code="nrs11")
    item.order = 7
    item.save()
    seen.append(TimePoint.objects.get(pk=baseline.pk).instruments_version)
    item.delete()
    seen.append(TimePoint.objects.get(pk=baseline.pk).instruments_version)
    Instrument.objects.get(code="nrs11").timepoints.add(baseline, through_defaults={"order": 1})
    seen.append(TimePoint.objects.get(pk=baseline.pk).instruments_version)
    assert len(set(seen)) == len(seen) == 4, seen  # each change a value never seen before
