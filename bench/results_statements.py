"""Each statement of the results' PostgreSQL fetcher, timed: wall time and the CPU of its
PostgreSQL backend, so figures taken on a busy machine can still be compared.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/outcomes_bench \\
         .venv/bin/python bench/results_statements.py [RUNS]
     (default 3; on a database the results bench has built: ``results_bench.py``)

Runs ``tables.postgres_columns`` for the demo study RUNS times and prints, for each
statement in order, its wall time and the CPU seconds (user + system, from
``/proc/<pid>/stat``) its backend spent, as the median over the runs. Wall time on a
shared machine includes waiting for a core; the backend's CPU does not.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _postgres import setup_django_on_postgres

setup_django_on_postgres()

from django.db import connection  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of process ``pid`` so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> None:
    from outcomes.analysis.results import study_results  # noqa: F401  (warm imports)
    from outcomes.analysis.selectors import allocation, study_scores
    from outcomes.analysis.tables import postgres_columns
    from patients.models import Study

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    study = Study.objects.get(code="BMC-LBP")
    arms, scores = list(allocation(study)), study_scores(study.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    timings: dict[str, list[tuple[float, float]]] = {}

    def timed(execute, sql, params, many, context):
        wall, cpu = time.perf_counter(), cpu_seconds(backend)
        try:
            return execute(sql, params, many, context)
        finally:
            name = " ".join(sql.split())[:60]
            timings.setdefault(name, []).append(
                (time.perf_counter() - wall, cpu_seconds(backend) - cpu))

    totals = []
    for _ in range(runs):
        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            postgres_columns(study, arms=arms, scores=scores, today=study_today(study))
        totals.append(time.perf_counter() - started)
    print(f"{len(scores) - 1} scores, {runs} runs, load average {os.getloadavg()[0]:.1f}")
    for name, values in timings.items():
        if len(values) < runs:
            continue  # set-up read once (time points, rules)
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"  {wall:6.3f} s wall  {cpu:6.2f} s backend CPU  {name}")
    print(f"  postgres_columns: {statistics.median(totals):.3f} s (median)")


def study_today(study):
    from outcomes.followups.services import study_today as today

    return today(study)


if __name__ == "__main__":
    main()
