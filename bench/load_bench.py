"""A morning reminder burst against the production-like stack, beside a one-row yardstick.

Run:  .venv/bin/python bench/load_bench.py [--patients 1000] [--workers 4] [--concurrency 50]

Needs PostgreSQL and Redis on this machine (the database named by --database-url is
emptied, default outcomes_load; Redis database 11 is flushed). One run:

1. migrates and empties the database, collects static files, creates the demo study and
   PATIENTS patients (plus a few for warm-up) whose baseline visit is open today, each with
   its private link;
2. starts gunicorn with WORKERS sync workers on production settings
   (``bench/loadstack/settings.py``: the app's settings, plus one bench-only URL);
3. warms every worker up and runs ANALYZE, so the planner has the statistics a database
   in use has (``--stale-statistics`` skips it: a new study's very first burst); then
   sends the yardstick load: CONCURRENCY clients POST a bare
   Django view that inserts one row, as many requests as the patients will send;
4. sends the burst: CONCURRENCY simulated patients at a time open their link and walk the
   whole baseline visit as a browser does (GET the link, GET each of the four instrument
   pages, POST its answers with the CSRF token, the last POST submits the visit, GET the
   thanks page): 10 requests per visit;
5. stops gunicorn and counts in the database: every visit completed once, four completed
   responses each with scores, no duplicate, one yardstick row per successful request.

Prints requests/s and p50/p95/p99 latency for both loads, per kind of request, completed
visits per second, the ratio of the two throughputs, and every error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadstack import client, stack

AIM = 0.5  # the aim: the full flow at least half the yardstick's throughput
WARMUP_PATIENTS = 8
WARMUP_YARDSTICK = 200


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=1000, help="simulated patients")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=50, help="clients in flight at once")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--stale-statistics", action="store_true",
                        help="skip the ANALYZE after warm-up: a new study's first burst, "
                             "before autovacuum has seen any response")
    parser.add_argument("--database-url", default=stack.DEFAULT_DATABASE_URL,
                        help="PostgreSQL database to EMPTY and use (default: %(default)s)")
    parser.add_argument("--redis-url", default=stack.DEFAULT_REDIS_URL,
                        help="Redis database to FLUSH and use (default: %(default)s)")
    return parser.parse_args()


def machine() -> str:
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, {int(memory) / 2**20:.0f} GiB, load average before "
            f"the run {load}")


def row(label: str, latencies: list[float], elapsed: float, errors: int = 0) -> str:
    rate = len(latencies) / elapsed if elapsed else 0.0
    p = [client.percentile(latencies, q) * 1000 for q in (50, 95, 99)]
    return (f"  {label:<28} {len(latencies):>8,} {rate:>9.1f} {p[0]:>8.1f} {p[1]:>8.1f} "
            f"{p[2]:>8.1f} {errors:>7}")


HEADER = (f"  {'':<28} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>7}")


def count_in_database(prefix: str, instruments: int) -> dict[str, int]:
    """Count what the burst stored: visits, responses, duplicates, scores, yardstick rows."""
    from django.db import connection
    from django.db.models import Count

    from bench.loadstack.views import YARDSTICK_TABLE
    from outcomes.followups.models import Visit
    from outcomes.instruments.models import Response, Score

    visits = Visit.objects.filter(enrolment__patient__code__startswith=f"{prefix}-",
                                  timepoint__is_baseline=True)
    responses = Response.objects.filter(visit__in=visits)
    per_pair = responses.values("visit", "instrument").annotate(n=Count("id"))
    complete_visits = (responses.filter(state=Response.State.COMPLETED).values("visit")
                       .annotate(n=Count("id")).filter(n=instruments).count())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {YARDSTICK_TABLE}")
        yardstick_rows = cursor.fetchone()[0]
    return {
        "visits": visits.count(),
        "visits completed": visits.filter(status=Visit.Status.COMPLETED).count(),
        "visits with every instrument completed once": complete_visits,
        "responses": responses.count(),
        "responses completed": responses.filter(state=Response.State.COMPLETED).count(),
        "duplicate responses": sum(r["n"] - 1 for r in per_pair if r["n"] > 1),
        "completed responses without scores": responses.filter(
            state=Response.State.COMPLETED, scores__isnull=True).count(),
        "scores": Score.objects.filter(response__in=responses).count(),
        "yardstick rows": yardstick_rows,
    }


def link_failures() -> int:
    """Return the private-link miss counter of the client address (the throttle's count)."""
    from django.core.cache import cache

    return cache.get("survey-link-failures:127.0.0.1", 0)


def server_errors() -> dict[str, int]:
    access = (stack.RUN_DIR / "access.log").read_text().splitlines()
    log = (stack.RUN_DIR / "gunicorn.log").read_text()
    return {
        "5xx in the access log": sum(1 for line in access if line.split('" ')[-1][:1] == "5"),
        "tracebacks in the server log": log.count("Traceback"),
        "worker timeouts": log.count("WORKER TIMEOUT"),
    }


def main() -> None:
    args = parse_args()
    prefix = "LOAD"
    print(f"machine: {machine()}")
    the_stack = stack.make_stack(database_url=args.database_url, redis_url=args.redis_url,
                                 port=args.port)
    started = time.perf_counter()
    stack.prepare(the_stack)
    tokens = stack.open_baseline_cohort(size=WARMUP_PATIENTS + args.patients, prefix=prefix)
    warmup_tokens, tokens = tokens[:WARMUP_PATIENTS], tokens[WARMUP_PATIENTS:]
    instruments = stack.baseline_instruments()
    per_visit = 2 + 2 * len(instruments)
    print(f"set-up: {args.patients:,} patients (+{WARMUP_PATIENTS} warm-up), baseline "
          f"{' + '.join(instruments)}, in {time.perf_counter() - started:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    connection.close()

    base, origin = the_stack.base_url, the_stack.origin
    gunicorn = stack.start_gunicorn(the_stack, workers=args.workers)
    try:
        warm = asyncio.run(client.fill_visits(base_url=base, origin=origin,
                                              tokens=warmup_tokens, instruments=instruments,
                                              concurrency=args.workers))
        warm_yard = asyncio.run(client.hit_yardstick(base_url=base, origin=origin,
                                                     requests=WARMUP_YARDSTICK,
                                                     concurrency=args.concurrency))
        if not args.stale_statistics:
            stack.analyze()
        meter = stack.CpuMeter(gunicorn.pid)
        yard = asyncio.run(client.hit_yardstick(base_url=base, origin=origin,
                                                requests=per_visit * args.patients,
                                                concurrency=args.concurrency))
        yard_cpu = meter.spent()
        meter = stack.CpuMeter(gunicorn.pid)
        burst = asyncio.run(client.fill_visits(base_url=base, origin=origin, tokens=tokens,
                                               instruments=instruments,
                                               concurrency=args.concurrency))
        burst_cpu = meter.spent()
    finally:
        stack.stop(the_stack)

    print(f"\nstack: gunicorn {args.workers} sync workers on production settings, PostgreSQL "
          f"{postgres} ({args.database_url.rsplit('/', 1)[-1]}), Redis cache "
          f"({args.redis_url}); client: aiohttp, {args.concurrency} in flight, same machine")
    print(HEADER)
    print(row("yardstick: insert one row", yard.all_latencies(), yard.elapsed,
              yard.error_count))
    print(row("patient flow: every request", burst.all_latencies(), burst.elapsed,
              burst.error_count))
    for kind in (client.OPEN, client.PAGE, client.SAVE, client.SUBMIT, client.THANKS):
        errors = sum(n for (k, _), n in burst.errors.items() if k == kind)
        print(row(f"  {kind}", burst.latencies.get(kind, []), burst.elapsed, errors))
    done = len(burst.visits)
    v = [client.percentile(burst.visits, q) for q in (50, 95, 99)]
    print(f"\ncompleted visits: {done:,} of {len(tokens):,} in {burst.elapsed:.1f} s = "
          f"{done / burst.elapsed:.1f} visits/s ({per_visit} requests each); whole visit "
          f"p50 {v[0]:.2f} s, p95 {v[1]:.2f} s, p99 {v[2]:.2f} s")
    yard_rate = yard.requests / yard.elapsed
    flow_rate = burst.requests / burst.elapsed
    ratio = flow_rate / yard_rate
    print(f"ratio, patient flow / yardstick, requests per second: {ratio:.2f} "
          f"(aim ≥ {AIM}: {'met' if ratio >= AIM else 'NOT met'})")
    print(f"per visit: {done / burst.elapsed:.1f} visits/s = "
          f"{done / burst.elapsed / yard_rate:.3f} × the yardstick's rows/s")
    yard_ms = {k: 1000 * v / yard.requests for k, v in yard_cpu.items()}
    flow_ms = {k: 1000 * v / burst.requests for k, v in burst_cpu.items()}
    print(f"server CPU per request (web + database): yardstick {yard_ms['web']:.2f} + "
          f"{yard_ms['database']:.2f} ms, patient flow {flow_ms['web']:.2f} + "
          f"{flow_ms['database']:.2f} ms; ratio of CPU costs "
          f"{sum(yard_ms.values()) / sum(flow_ms.values()):.2f} (steadier than the "
          f"throughput ratio on a shared machine; the client's CPU is not in it)")

    counts = count_in_database(prefix, len(instruments))
    expected_visits = len(warm.visits) + done
    checks = [
        ("every completed flow's visit is completed",
         counts["visits completed"] == expected_visits),
        ("each completed visit: every instrument completed exactly once",
         counts["visits with every instrument completed once"] == expected_visits
         and counts["responses completed"] == expected_visits * len(instruments)),
        ("no duplicate response", counts["duplicate responses"] == 0),
        ("every completed response has scores",
         counts["completed responses without scores"] == 0),
        ("one yardstick row per successful request",
         counts["yardstick rows"] == warm_yard.requests - warm_yard.error_count
         + yard.requests - yard.error_count),
        ("no request refused or failed", yard.error_count + burst.error_count
         + warm.error_count + warm_yard.error_count == 0),
    ]
    print("\ndatabase after the run: " + ", ".join(f"{k} {n:,}" for k, n in counts.items()))
    failures = link_failures()
    print(f"private-link throttle: {failures} misses counted for 127.0.0.1 "
          f"(429 replies: {sum(n for (_, s), n in burst.errors.items() if s == '429')})")
    print("server: " + ", ".join(f"{k} {n}" for k, n in server_errors().items()))
    for recorder in (warm, warm_yard, yard, burst):
        for (kind, what), n in recorder.errors.items():
            print(f"ERROR {kind}: {what} × {n}")
        for example in recorder.examples:
            print(f"  e.g. {example}")
    for label, ok in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {label}")
    if not all(ok for _, ok in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
