"""``load_demo``: the demo study as SPEC section 9 names it, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import TimePoint, Visit
from outcomes.instruments.models import ResponderRule, ResponderStatus, Response, Score
from patients.demo import load_demo
from patients.models import Arm, Enrolment, Patient, Site, Study

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)


def counts() -> dict[str, int]:
    models = (Study, Arm, Site, Patient, Enrolment, TimePoint, Visit, Response, Score,
              ResponderRule, ResponderStatus, AuditRecord, get_user_model())
    return {m.__name__: m.objects.count() for m in models}


def test_the_demo_study_is_named_as_the_spec_says():
    call_command("load_demo", "--without-patients")
    study = Study.objects.get(code="BMC-LBP")
    assert set(study.arms.values_list("code", flat=True)) == {"BMC", "CONTROL"}
    assert list(study.sites.values_list("code", flat=True)) == ["MAIN"]
    assert list(study.timepoints.values_list("code", "target_day")) == [
        ("baseline", 0), ("m1", 30), ("m3", 90), ("m6", 180), ("m12", 365),
    ]
    codes = set(study.responder_rules.values_list("code", flat=True))
    assert {"odi_mcid_10pt", "odi_mcid_30pct", "odi_50pct", "nrs_2pt", "nrs_gt2pt",
            "nrs_30pct", "nrs_50pct", "eq5d_uk_mid", "gph_5t", "gmh_5t", "primary"} <= codes
    primary = study.responder_rules.get(code="primary")
    assert set(primary.parts.values_list("code", flat=True)) == {"odi_mcid_10pt", "nrs_2pt"}
    assert not Patient.objects.exists()


def test_running_load_demo_twice_duplicates_nothing():
    load_demo(size=6, today=TODAY)
    first = counts()
    load_demo(size=6, today=TODAY)
    call_command("load_demo", "--without-patients")
    assert counts() == first
    assert first["Patient"] == 6


def test_the_demo_cohort_has_completed_open_and_missed_visits_and_demo_0001_is_open_now():
    load_demo(size=12, today=TODAY)
    statuses = set(Visit.objects.values_list("status", flat=True))
    assert {"completed", "open", "missed", "scheduled"} <= statuses
    open_now = Visit.objects.filter(
        enrolment__patient__code="DEMO-0001",
        window_open_date__lte=TODAY, window_close_date__gte=TODAY,
    ).exclude(status="completed")
    assert open_now.exists()
    # Every completed visit carries all four instruments' scores.
    completed = Visit.objects.filter(status="completed").first()
    assert set(completed.responses.values_list("instrument__code", flat=True)) == {
        "odi", "nrs11", "eq5d3l", "promis_gh",
    }
    assert ResponderStatus.objects.filter(verdict="responder").exists()


class _Undo(Exception):
    """Raised to roll the first load back: responses are never deleted, even in tests."""


def _scores():
    return sorted(Score.objects.values_list(
        "response__visit__enrolment__patient__code", "response__visit__timepoint__code",
        "code", "exact"))


def test_the_demo_cohort_is_deterministic():
    from django.db import transaction

    with pytest.raises(_Undo), transaction.atomic():
        load_demo(size=4, today=TODAY)
        first = _scores()
        raise _Undo
    assert not Score.objects.exists()
    load_demo(size=4, today=TODAY)
    assert first and _scores() == first
