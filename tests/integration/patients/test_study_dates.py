"""Study dates outside 1990..2100 are refused by the model, whoever writes them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from outcomes.followups.services import change_index_date
from tests.factories import enrol

pytestmark = pytest.mark.django_db


def test_enrolling_with_a_typo_year_is_refused_outside_the_form(study):
    with pytest.raises(ValidationError) as refused:
        enrol(study, "P-900", index_date=dt.date(206, 1, 15), today=dt.date(2026, 1, 15))
    assert "index_date" in refused.value.message_dict


def test_moving_an_index_date_to_9999_is_a_clear_error_not_a_crash(study):
    enrolment = enrol(study, "P-901", index_date=dt.date(2026, 1, 15))
    with pytest.raises(ValidationError) as refused:
        change_index_date(enrolment=enrolment, index_date=dt.date(9999, 12, 31),
                          reason="typo", today=dt.date(2026, 1, 15))
    assert refused.value.message_dict["index_date"] == [
        "A study date is on or before 2100-12-31."]
    enrolment.refresh_from_db()
    assert enrolment.index_date == dt.date(2026, 1, 15)
