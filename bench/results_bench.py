"""The study's results over a large cohort, on PostgreSQL.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/outcomes_bench \\
         .venv/bin/python bench/results_bench.py [SIZE ...]      (default: 10000 100000)

For each size: empties the database, builds SIZE synthetic patients with 5 visits each
(bulk insert), marks every visit whose window has closed as completed with all four
instruments' result scores and every rule's verdict, then times ``study_results`` (what
both the results page and ``manage.py results`` compute) and reports its peak Python
memory (tracemalloc) and the number of queries.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _postgres import fresh_database, setup_django_on_postgres

setup_django_on_postgres()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from outcomes.analysis.results import study_results  # noqa: E402
from outcomes.followups.models import TimePoint, Visit  # noqa: E402
from outcomes.instruments.models import (  # noqa: E402
    Instrument,
    ResponderRule,
    ResponderStatus,
    Response,
    Score,
)
from patients.demo import ensure_demo_study  # noqa: E402
from tests.factories import bulk_cohort  # noqa: E402

TODAY = dt.date(2026, 6, 1)
CODES = {"odi": ("odi",), "nrs11": ("nrs",), "eq5d3l": ("eq5d_index_uk", "eq5d_index_us",
                                                         "eq5d_vas"),
         "promis_gh": ("gph_t", "gmh_t")}


def build(size: int):
    fresh_database()
    study = ensure_demo_study()
    bulk_cohort(study, size, today=TODAY)
    rng = random.Random(3)
    instruments = {i.code: i for i in Instrument.objects.all()}
    rules = list(ResponderRule.objects.filter(study=study))
    baseline = TimePoint.objects.get(study=study, is_baseline=True)
    now = timezone.now()
    done = list(Visit.objects.filter(enrolment__study=study, window_close_date__lt=TODAY)
                .values_list("pk", "enrolment_id", "timepoint_id"))
    Visit.objects.filter(pk__in=[v[0] for v in done]).update(status="completed",
                                                            completed_at=now)
    for start in range(0, len(done), 20000):
        chunk = done[start:start + 20000]
        responses = Response.objects.bulk_create(
            [Response(visit_id=pk, instrument=instruments[code], state="completed",
                      completed_at=now, answers={}) for pk, _, _ in chunk for code in CODES],
            batch_size=5000)
        scores = []
        for response in responses:
            for code in CODES[response.instrument.code]:
                value = round(rng.uniform(0, 100), 1)
                scores.append(Score(response=response, code=code, value=value,
                                    exact=str(value), scoring_version="1"))
        Score.objects.bulk_create(scores, batch_size=10000)
        statuses = [
            ResponderStatus(enrolment_id=enrolment, timepoint_id=tp, rule=rule,
                            verdict=rng.choice(["responder", "non_responder",
                                                "not_evaluable"]))
            for _, enrolment, tp in chunk if tp != baseline.pk for rule in rules]
        ResponderStatus.objects.bulk_create(statuses, batch_size=10000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return study, len(done)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    print(f"database: {connection.vendor}, {os.cpu_count()} cores")
    figures = {}
    for size in sizes:
        started = time.perf_counter()
        study, visits = build(size)
        built = time.perf_counter() - started
        tracemalloc.start()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            results = study_results(study)
            elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures[size] = (elapsed, peak)
        print(f"{size:>8,} patients, {visits:>7,} completed visits (built in {built:5.0f} s): "
              f"results in {elapsed:6.2f} s, peak {peak / 2**20:7.1f} MiB, "
              f"{len(queries)} queries, {len(results['scores'])} score rows")
    if len(sizes) > 1:
        (t0, m0), (t1, m1) = figures[sizes[0]], figures[sizes[-1]]
        print(f"ratio x{sizes[-1] // sizes[0]} cohort: time x{t1 / t0:.1f}, memory x{m1 / m0:.1f}")


if __name__ == "__main__":
    main()
