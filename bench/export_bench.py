"""The statistician's exports (tidy, wide, items) over a large cohort, on PostgreSQL.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/outcomes_export_bench \\
         .venv/bin/python bench/export_bench.py [--reuse] [--traced] [SIZE ...]
     (default: 10000 100000)

For each size: empties the database, builds SIZE synthetic patients with 5 visits each
(bulk insert, index dates spread over 400 days), answers every visit whose window has
closed with all four instruments (random valid answers, a fifth of the ODI forms with
the sex-life section blank), scores them with the real scorers, stores the scores and
catches ``VisitScores`` up (as any bulk load must); then, for each of tidy, wide and
items, runs ``manage.py export_study --format F --output FILE`` in a fresh process and
reports its wall time, the rows written and the process's peak resident memory (VmHWM);
``--traced`` adds a second run under tracemalloc for the peak of Python's own
allocations (about ten times slower). Memory that stays flat from 10,000 to 100,000
patients is the streaming at work. ``--reuse`` skips the build when the database
already holds a cohort of that size.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cohort import analysed, completed_cohort, peak_rss_mib, ready
from _postgres import ROOT, setup_django_on_postgres

FORMATS = ("tidy", "wide", "items")
TODAY = dt.date(2026, 6, 1)


def build(size: int) -> None:
    from django.utils import timezone

    from outcomes.instruments.definitions import INSTRUMENTS
    from outcomes.instruments.models import Instrument, Response, Score, decimal_of, exact_of
    from outcomes.instruments.scoring import NUMERIC_SCORE_KEYS, score
    from outcomes.instruments.services import refresh_visit_scores

    _, visits = completed_cohort(size, today=TODAY, age_span=70, doses_at_baseline=True)
    done = [pk for pk, _, _ in visits]
    rng = random.Random(16)
    instruments = {i.code: i for i in Instrument.objects.all()}
    now = timezone.now()

    def answers(code: str) -> dict[str, int | None]:
        given = {item.code: rng.randint(item.min_value, item.max_value)
                 for item in INSTRUMENTS[code].items}
        if code == "odi" and rng.random() < 0.2:
            given["sex_life"] = None
        return given

    for start in range(0, len(done), 20000):
        chunk = done[start:start + 20000]
        responses = Response.objects.bulk_create(
            [Response(visit_id=pk, instrument=instruments[code], state="completed",
                      completed_at=now, answers=answers(code))
             for pk in chunk for code in INSTRUMENTS], batch_size=5000)
        rows = []
        for response in responses:
            version = response.instrument.scoring_version
            for key, value in score(response.instrument.code, response.answers).items():
                if key in NUMERIC_SCORE_KEYS and value is not None:
                    rows.append(Score(response=response, code=key, value=decimal_of(value),
                                      exact=exact_of(value), scoring_version=version))
        Score.objects.bulk_create(rows, batch_size=10000)
        refresh_visit_scores(visit_ids=chunk)
    analysed()


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of process ``pid`` (the database
    backend serving this connection, on this machine), from /proc."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(fmt: str, traced: bool) -> dict:
    """Run one export in this (fresh) process; report time, CPU, rows and peak memory.

    CPU is this process's and its PostgreSQL backend's: the work the export needs,
    which, on a machine shared with other work, says more than the wall time does.
    """
    import tracemalloc

    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"export.{fmt}.csv")
        if traced:
            tracemalloc.start()
        cpu, server = cpu_seconds(), cpu_seconds(backend)
        started = time.perf_counter()
        call_command("export_study", "--study", "BMC-LBP", "--format", fmt, "--output", path)
        elapsed = time.perf_counter() - started
        cpu, server = cpu_seconds() - cpu, cpu_seconds(backend) - server
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
        with open(path, "rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        size = os.path.getsize(path)
    return {"seconds": elapsed, "cpu": cpu, "server_cpu": server, "rows": lines - 1,
            "mib": size / 2**20, "rss_mib": peak_rss_mib(), "traced_mib": peak}


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--measure"]:
        setup_django_on_postgres()
        print(json.dumps(measure(args[1], args[2] == "traced")))
        return
    setup_django_on_postgres()
    from outcomes.followups.models import Visit
    from outcomes.instruments.models import Response

    reuse, traced = "--reuse" in args, "--traced" in args
    sizes = [int(a) for a in args if not a.startswith("--")] or [10_000, 100_000]
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    for size in sizes:
        built = ready(size, build, reuse=reuse)
        print(f"{size:>8,} patients: {Visit.objects.count():,} visits, "
              f"{Visit.objects.filter(status='completed').count():,} completed, "
              f"{Response.objects.count():,} responses ({built})", flush=True)
        for fmt in FORMATS:
            runs = {}
            for mode in ("plain", "traced") if traced else ("plain",):
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", fmt, mode], check=True,
                    capture_output=True, text=True, cwd=ROOT).stdout
                runs[mode] = json.loads(out.splitlines()[-1])
            plain = runs["plain"]
            extra = (f", {runs['traced']['traced_mib']:.1f} MiB Python allocations (traced "
                     f"run: {runs['traced']['seconds']:.1f} s)" if traced else "")
            print(f"    {fmt:<5} {plain['seconds']:6.1f} s (CPU: Python {plain['cpu']:.1f} s, "
                  f"PostgreSQL {plain['server_cpu']:.1f} s), {plain['rows']:>10,} rows, "
                  f"{plain['mib']:7.1f} MiB file; peak memory {plain['rss_mib']:.0f} MiB "
                  f"RSS{extra}; load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
