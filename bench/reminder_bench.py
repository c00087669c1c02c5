"""One reminder run over a large cohort, on PostgreSQL.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/outcomes_bench \\
         .venv/bin/python bench/reminder_bench.py [SIZE ...]      (default: 10000 100000)

For each size: empties the database, builds the demo study with SIZE synthetic patients
(5 visits each, index dates spread over 400 days) by bulk insert, then measures

1. the periodic run, as the beat task does it: open and close windows, plan every due
   reminder (one row per visit and kind), list the pending ids to fan out; its time and
   peak Python memory (tracemalloc);
2. sending: every pending reminder claimed, re-checked, rendered and sent through the
   in-memory email and SMS backends by one process, in messages per second (in
   production each worker process sends its share in parallel).

This first run after the cohort appears is the worst case: every open visit is due at
once. Prints the figures and the ratio between sizes.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _postgres import fresh_database, setup_django_on_postgres

setup_django_on_postgres()

from django.db import connection  # noqa: E402

from outcomes.followups.models import Reminder, Visit  # noqa: E402
from outcomes.followups.reminders import run_reminders, send_reminder  # noqa: E402
from patients.demo import ensure_demo_study  # noqa: E402
from tests.factories import bulk_cohort  # noqa: E402

NOON = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def one(size: int) -> tuple[float, int, float]:
    fresh_database()
    study = ensure_demo_study()
    study.quiet_hours_start = study.quiet_hours_end = 0
    study.save()
    started = time.perf_counter()
    bulk_cohort(study, size, today=NOON.date())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    built = time.perf_counter() - started
    visits = Visit.objects.count()
    tracemalloc.start()
    started = time.perf_counter()
    _, ids = run_reminders(now=NOON, send=False)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    started = time.perf_counter()
    outcomes = [send_reminder(pk, now=NOON) for pk in list(ids)]
    sending = time.perf_counter() - started
    sent = Reminder.objects.filter(status="sent").count()
    assert sent == outcomes.count("sent") == len(outcomes), "every due reminder is sent once"
    print(f"{size:>8,} patients {visits:>9,} visits (built in {built:5.1f} s): periodic run "
          f"{elapsed:6.2f} s, peak {peak / 2**20:5.1f} MiB, {len(outcomes):>6,} due; sending "
          f"{sent / sending:6.0f} messages/s")
    return elapsed, sent, peak


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, "
          f"{os.cpu_count()} cores")
    results = {size: one(size) for size in sizes}
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        (t0, s0, m0), (t1, s1, m1) = results[small], results[large]
        print(f"ratio {large // small}x cohort: periodic run x{t1 / t0:.1f}, due messages "
              f"x{s1 / s0:.1f}, peak memory x{m1 / m0:.2f}")


if __name__ == "__main__":
    main()
