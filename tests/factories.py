"""factory_boy factories for the domain models."""

from __future__ import annotations

import datetime as dt

import factory

from patients.models import Arm, Patient, Site, Study


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    title = factory.LazyAttribute(lambda o: f"Study {o.code}")
    reminder_days = [3, 7]


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SITE{n}")
    name = factory.LazyAttribute(lambda o: f"Site {o.code}")


class ArmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Arm

    study = factory.SubFactory(StudyFactory)
    code = factory.Sequence(lambda n: f"ARM{n}")
    name = factory.LazyAttribute(lambda o: f"Arm {o.code}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    study = factory.SubFactory(StudyFactory)
    code = factory.Sequence(lambda n: f"P-{n:05d}")
    sex = Patient.Sex.FEMALE
    age_at_enrolment = 55


def enrol(study, code: str, *, arm: str = "BMC", site: str = "MAIN",
          index_date: dt.date = dt.date(2026, 1, 15), today: dt.date | None = None, **extra):
    """Enrol a new patient in ``study`` through the service, as the app does."""
    from patients.services import enrol_patient

    return enrol_patient(
        study=study, code=code, arm=study.arms.get(code=arm), site=Site.objects.get(code=site),
        enrolled_date=index_date - dt.timedelta(days=7), index_date=index_date,
        today=today or index_date, **extra,
    )
