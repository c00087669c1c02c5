"""The study's results over a large cohort, on PostgreSQL.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/outcomes_bench \\
         .venv/bin/python bench/results_bench.py [--reuse] [--runs N] [SIZE ...]
     (default: 10000 100000; 3 runs per size)

For each size: empties the database, builds SIZE synthetic patients with 5 visits each
(bulk insert) and varied sex, age, BMI and baseline opioid dose, marks every visit
whose window has closed as completed with every numeric score of the four instruments
(14 a visit, as a real visit stores: the results read 7 of them), an opioid dose and
every rule's verdict, catches ``VisitScores`` up with the bulk-loaded scores (as any
bulk load must), then times ``study_results`` (what both the results
page and ``manage.py results`` compute) in a fresh process, N times in a row: wall time
and queries of each run, the peak resident memory of that process (RSS: Django and the
libraries included), then once more under tracemalloc for the peak of Python's own
allocations. ``--reuse`` skips the build when the database already holds a cohort of
that size.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cohort import analysed, completed_cohort, peak_rss_mib, ready
from _postgres import setup_django_on_postgres

setup_django_on_postgres()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from outcomes.followups.models import TimePoint, Visit  # noqa: E402
from outcomes.instruments.models import (  # noqa: E402
    Instrument,
    ResponderRule,
    ResponderStatus,
    Response,
    Score,
)
from outcomes.instruments.scoring import NUMERIC_SCORE_KEYS, SCORE_KEYS  # noqa: E402
from outcomes.instruments.services import refresh_visit_scores  # noqa: E402
from outcomes.instruments.stored import definition_of  # noqa: E402
from patients.models import Patient  # noqa: E402

TODAY = dt.date(2026, 6, 1)
# Every numeric score each instrument stores (a Score row each, and a key in VisitScores).
CODES = {code: tuple(key for key in keys if key in NUMERIC_SCORE_KEYS)
         for code, keys in SCORE_KEYS.items()}


def build(size: int):
    study, done = completed_cohort(size, today=TODAY, age_span=60, doses_at_baseline=False)
    rng = random.Random(3)
    instruments = {i.code: i for i in Instrument.objects.all()}
    rules = list(ResponderRule.objects.filter(study=study))
    baseline = TimePoint.objects.get(study=study, is_baseline=True)
    now = timezone.now()
    # Baseline responses carry every item's answer: Cronbach's alpha (the SEM of the MCID
    # estimates) reads them. Later ones need none: the results read their stored scores.
    items = {code: [(item.code, item.values) for item in definition_of(instrument).items]
             for code, instrument in instruments.items() if code in CODES}
    for start in range(0, len(done), 20000):
        chunk = done[start:start + 20000]
        responses = Response.objects.bulk_create(
            [Response(visit_id=pk, instrument=instruments[code], state="completed",
                      completed_at=now,
                      answers=answers(items[code], rng) if tp == baseline.pk else {})
             for pk, _, tp in chunk for code in CODES],
            batch_size=5000)
        scores = []
        for response in responses:
            for code in CODES[response.instrument.code]:
                value = round(rng.uniform(0, 100), 1)
                scores.append(Score(response=response, code=code, value=value,
                                    exact=str(value), scoring_version="1"))
        Score.objects.bulk_create(scores, batch_size=10000)
        refresh_visit_scores(visit_ids=[pk for pk, _, _ in chunk])
        statuses = [
            ResponderStatus(enrolment_id=enrolment, timepoint_id=tp, rule=rule,
                            verdict=rng.choice(["responder", "non_responder",
                                                "not_evaluable"]))
            for _, enrolment, tp in chunk if tp != baseline.pk for rule in rules]
        ResponderStatus.objects.bulk_create(statuses, batch_size=10000)
    analysed()
    return study


def answers(items, rng: random.Random) -> dict[str, int]:
    """A complete set of answers: each item a value it allows, at random."""
    return {code: rng.choice(values) for code, values in items}


def measure(runs: int) -> dict:
    """Time ``study_results`` ``runs`` times in this process (a fresh one), then once more
    under tracemalloc for the peak of Python's own allocations (numpy's included)."""
    import tracemalloc

    from django.test.utils import CaptureQueriesContext

    from outcomes.analysis.results import study_results
    from patients.models import Study

    study = Study.objects.get(code="BMC-LBP")
    figures = {"runs": []}
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            results = study_results(study)
            elapsed = time.perf_counter() - started
        figures["runs"].append({"seconds": elapsed, "queries": len(queries),
                                "score_rows": len(results["scores"]),
                                "load": os.getloadavg()[0]})
    figures["rss_mib"] = peak_rss_mib()
    tracemalloc.start()
    study_results(study)
    figures["traced_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return figures


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--measure"]:
        print(json.dumps(measure(int(args[1]))))
        return
    reuse = "--reuse" in args
    runs = 3
    if "--runs" in args:
        runs = int(args[args.index("--runs") + 1])
        del args[args.index("--runs"):args.index("--runs") + 2]
    sizes = [int(a) for a in args if a != "--reuse"] or [10_000, 100_000]
    print(f"database: {connection.vendor}, {os.cpu_count()} cores")
    best = {}
    for size in sizes:
        built = ready(size, build, reuse=reuse)
        visits = Visit.objects.filter(status="completed").count()
        print(f"{size:>8,} patients, {visits:>7,} completed visits, "
              f"{Patient.objects.exclude(bmi=None).count():,} with BMI ({built})")
        out = subprocess.run([sys.executable, __file__, "--measure", str(runs)],
                             check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.splitlines()[-1])
        for n, f in enumerate(figures["runs"], 1):
            print(f"    run {n}: results in {f['seconds']:6.2f} s, {f['queries']} queries, "
                  f"{f['score_rows']} score rows (load average {f['load']:.1f})")
        times = sorted(f["seconds"] for f in figures["runs"])
        best[size] = times[0]
        print(f"    fastest {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s, "
              f"slowest {times[-1]:.2f} s; peak memory {figures['rss_mib']:.0f} MiB RSS "
              f"(the whole process: Django, numpy, scipy), {figures['traced_mib']:.1f} MiB "
              "of Python allocations (tracemalloc)")
    if len(sizes) > 1:
        print(f"ratio x{sizes[-1] // sizes[0]} cohort: fastest time "
              f"x{best[sizes[-1]] / best[sizes[0]]:.1f}")


if __name__ == "__main__":
    main()
