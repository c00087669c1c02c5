"""Database constraints on studies and enrolments: refused by the database, not only forms."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from outcomes.followups.models import Visit
from patients.models import Enrolment, Patient, Site
from tests.factories import enrol


def test_a_patient_cannot_be_enrolled_twice_in_one_study(study):
    enrolment = enrol(study, "P-1")
    duplicate = Enrolment(
        study=study, patient=enrolment.patient, arm=study.arms.get(code="CONTROL"),
        site=enrolment.site, enrolled_date=dt.date(2026, 2, 1), index_date=dt.date(2026, 2, 1),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        # save() skips full_clean: this is the database refusing, not a form.
        duplicate.save()
    assert Enrolment.objects.filter(patient=enrolment.patient).count() == 1


def test_a_study_code_is_used_by_one_patient_only(study):
    Patient.objects.create(study=study, code="P-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(study=study, code="P-1")


def test_a_withdrawal_without_a_reason_is_refused(study):
    enrolment = enrol(study, "P-1")
    enrolment.status = Enrolment.Status.WITHDRAWN
    with pytest.raises(IntegrityError), transaction.atomic():
        enrolment.save()


def test_a_bmi_outside_human_range_is_refused(study):
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(study=study, code="P-2", bmi=250)


def test_a_visit_window_that_excludes_its_target_is_refused(study):
    enrolment = enrol(study, "P-1")
    visit = enrolment.visits.first()
    visit.window_close_date = visit.target_date - dt.timedelta(days=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        visit.save()


def test_enrolment_schedules_one_visit_per_time_point_around_the_index_date(study):
    index = dt.date(2026, 1, 15)
    enrolment = enrol(study, "P-1", index_date=index, today=index)
    visits = {v.timepoint.code: v for v in enrolment.visits.select_related("timepoint")}
    assert set(visits) == {"baseline", "m1", "m3", "m6", "m12"}
    # SPEC 5: m3 is day 90 with a ±14-day window; m12 day 365 ±30.
    assert visits["m3"].target_date == index + dt.timedelta(days=90)
    assert visits["m3"].window_open_date == index + dt.timedelta(days=76)
    assert visits["m3"].window_close_date == index + dt.timedelta(days=104)
    assert visits["m12"].window_close_date == index + dt.timedelta(days=395)
    # Baseline: -30/+7, but never opening before enrolment (7 days before the index date).
    assert visits["baseline"].window_open_date == enrolment.enrolled_date
    assert visits["baseline"].status == Visit.Status.OPEN
    assert visits["m1"].status == Visit.Status.SCHEDULED


def test_an_arm_of_another_study_is_refused_at_enrolment(study):
    from django.core.exceptions import ValidationError

    from patients.services import enrol_patient
    from tests.factories import ArmFactory

    foreign_arm = ArmFactory()
    with pytest.raises(ValidationError):
        enrol_patient(
            study=study, code="P-9", arm=foreign_arm, site=Site.objects.get(code="MAIN"),
            enrolled_date=dt.date(2026, 1, 1), index_date=dt.date(2026, 1, 1),
        )
    assert not Patient.objects.filter(code="P-9").exists()
