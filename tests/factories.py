"""factory_boy factories for the domain models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


def bulk_cohort(study, size: int, *, today: dt.date, site_code: str = "MAIN",
                prefix: str = "C", spread_days: int = 400) -> list:
    """Create ``size`` patients with enrolments and visits by bulk insert (fast, for scale).

    Index dates spread over the past ``spread_days`` days so every worklist has rows
    (``spread_days=1``: every index date is today, every baseline visit open).
    Returns the enrolments.
    """
    from outcomes.followups.models import TimePoint, Visit
    from outcomes.followups.schedule import visit_state, visit_window
    from patients.models import Contact, Enrolment

    site = Site.objects.get(code=site_code)
    arms = list(study.arms.all())
    timepoints = list(TimePoint.objects.filter(study=study))
    patients = Patient.objects.bulk_create(
        [Patient(study=study, code=f"{prefix}-{n:06d}", sex="female", age_at_enrolment=50)
         for n in range(size)], batch_size=2000)
    Contact.objects.bulk_create(
        [Contact(patient=p, email=f"{p.code}@example.org",
                 preferred_channel="email" if n % 3 else "sms", mobile="+15550100")
         for n, p in enumerate(patients)], batch_size=2000)
    enrolments = Enrolment.objects.bulk_create(
        [Enrolment(study=study, patient=p, arm=arms[n % len(arms)], site=site,
                   enrolled_date=today - dt.timedelta(days=n % spread_days + 7),
                   index_date=today - dt.timedelta(days=n % spread_days))
         for n, p in enumerate(patients)], batch_size=2000)
    visits = []
    for enrolment in enrolments:
        for tp in timepoints:
            window = visit_window(index_date=enrolment.index_date, target_day=tp.target_day,
                                  before=tp.window_before_days, after=tp.window_after_days,
                                  not_before=enrolment.enrolled_date)
            visits.append(Visit(enrolment=enrolment, timepoint=tp,
                                target_date=window.target_date,
                                window_open_date=window.open_date,
                                window_close_date=window.close_date,
                                status=visit_state(window, today=today, completed=False)))
    Visit.objects.bulk_create(visits, batch_size=5000)
    from django.db import connection

    if connection.vendor == "postgresql":
        # Fresh statistics, as a live database has: the planner otherwise sees empty tables.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return enrolments


def staff(username: str, group: str, site: str = "MAIN"):
    """A staff user in the role ``group`` (a group name), working at ``site``."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, password="x" * 12)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    Site.objects.get_or_create(code=site, defaults={"name": site})[0].staff.add(user)
    return user


def imported_and_scheduled(study, path: Path, *, alone: bool, timepoint: str = "baseline",
                           order: int = 9):
    """Import the definition file at ``path`` as a data manager does (``import_instrument``)
    and schedule it at ``timepoint``: ``alone`` in place of that time point's instruments,
    else after them. Returns the instrument version."""
    from io import StringIO

    from django.core.management import call_command

    from outcomes.followups.models import TimePointInstrument
    from outcomes.instruments.models import Instrument

    call_command("import_instrument", str(path), stdout=StringIO())
    instrument = Instrument.objects.latest("pk")
    point = study.timepoints.get(code=timepoint)
    if alone:
        TimePointInstrument.objects.filter(timepoint=point).delete()
    TimePointInstrument.objects.create(timepoint=point, instrument=instrument, order=order)
    return instrument

