"""Shared set-up of the benchmarks that need a large scored cohort (results, exports).

``completed_cohort`` empties the database and lays out the demo study's patients with
real-looking covariates and every visit whose window has closed completed; each bench
then answers and scores those visits its own way and calls ``analysed`` (what a live
database's autovacuum would have done after a bulk load).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from _postgres import fresh_database


def completed_cohort(size: int, *, today: dt.date, age_span: int,
                     doses_at_baseline: bool) -> tuple[object, list[tuple[int, int, int]]]:
    """Return the demo study with ``size`` synthetic patients and their completed visits
    as (visit id, enrolment id, time point id), after emptying the database.

    1. ``tests.factories.bulk_cohort`` lays the patients and their visits out (bulk).
    2. Covariates as a real cohort has them, so subgroups and regressions run: sex, age
       (25 years and the ``age_span`` whole years after), BMI 18 to 40, a baseline
       opioid dose (0 to 90 MME/day).
    3. Every visit whose window closed before ``today`` becomes completed, with an opioid
       dose around the baseline dose reported there (at baseline visits too only with
       ``doses_at_baseline``; the enrolment record's dose stands for baseline otherwise).
    """
    from django.db import connection
    from django.utils import timezone

    from outcomes.followups.models import TimePoint, Visit
    from patients.demo import ensure_demo_study
    from tests.factories import bulk_cohort

    fresh_database()
    study = ensure_demo_study()
    bulk_cohort(study, size, today=today)
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE patients_patient
               SET sex = CASE WHEN random() < 0.5 THEN 'female' ELSE 'male' END,
                   age_at_enrolment = 25 + floor(random() * %s),
                   bmi = round((18 + random() * 22)::numeric, 1),
                   baseline_opioid_mme = (ARRAY[0, 0, 15, 30, 45, 60, 90])[
                       1 + floor(random() * 7)::int]
             WHERE study_id = %s""", [age_span, study.pk])
    done = list(Visit.objects.filter(enrolment__study=study, window_close_date__lt=today)
                .values_list("pk", "enrolment_id", "timepoint_id"))
    Visit.objects.filter(pk__in=[v[0] for v in done]).update(status="completed",
                                                            completed_at=timezone.now())
    baseline = TimePoint.objects.get(study=study, is_baseline=True)
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE followups_visit v
               SET opioid_mme = round(p.baseline_opioid_mme * (0.5 + random())::numeric, 1)
              FROM patients_enrolment en, patients_patient p
             WHERE en.id = v.enrolment_id AND p.id = en.patient_id
               AND v.status = 'completed' AND (%s OR v.timepoint_id <> %s)""",
                       [doses_at_baseline, baseline.pk])
    return study, done


def ready(size: int, build: Callable[[int], object], *, reuse: bool) -> str:
    """Build a cohort of ``size`` patients, unless ``reuse`` and the database holds one of
    that size already; say which, and how long the build took."""
    from patients.models import Enrolment

    started = time.perf_counter()
    if reuse and Enrolment.objects.count() == size:
        return "reused"
    build(size)
    return f"built in {time.perf_counter() - started:.0f} s"


def analysed() -> None:
    """``VACUUM ANALYZE``: what autovacuum does for a live database after a bulk load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def peak_rss_mib() -> float:
    """This process's peak resident memory: Linux's VmHWM, not ru_maxrss (a child
    inherits its parent's ru_maxrss across fork and exec: the builder's, here)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
