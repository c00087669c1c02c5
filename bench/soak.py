"""Soak: steady questionnaire submits and reminder runs for N minutes, watching memory.

Run:  .venv/bin/python bench/soak.py [--minutes 30] [--rate 1] [--workers 4]

Not a CI job. Needs PostgreSQL and Redis on this machine (the database named by
--database-url is emptied, default outcomes_load_soak; Redis database 11 is flushed). It
starts the production-like stack of ``bench/load_bench.py`` (gunicorn with fixed sync
workers on production settings) plus a real Celery worker, then for MINUTES:

- simulated patients fill and submit their baseline visit, RATE visits a second
  (10 requests each), the same client as the load benchmark;
- every --reminder-every seconds a new batch of patients is enrolled (their baseline
  visit open today) and the periodic reminder task is queued on the broker, as beat
  does: the worker plans the batch's invitations and sends each as its own task;
- every --sample-every seconds the resident memory (RSS) of the gunicorn master and
  workers and of the Celery worker and its pool is read from /proc.

Prints memory per minute; then, leaving out the first --warmup seconds (imports, the
first pages, the pool starting), the mean of the first and last windows (5 minutes, or a
third of a shorter run) and a least-squares slope per process group, and whether memory
grows; then the errors and what the database holds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadstack import client, stack

# Memory "grows" when the last window's mean exceeds the first's by more than this,
# and the slope after warm-up is positive: below it is allocator noise.
GROWTH_MIB = 5.0
SOAK_DATABASE_URL = stack.DEFAULT_DATABASE_URL + "_soak"  # the load benchmark's stays apart
GROWTH_FRACTION = 0.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1.0, help="visits submitted per second")
    parser.add_argument("--concurrency", type=int, default=8, help="most patients in flight")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--reminder-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=60.0,
                        help="seconds left out of the memory windows (imports, first pages)")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--database-url", default=SOAK_DATABASE_URL,
                        help="PostgreSQL database to EMPTY and use (default: %(default)s)")
    parser.add_argument("--redis-url", default=stack.DEFAULT_REDIS_URL,
                        help="Redis database to FLUSH and use (default: %(default)s)")
    return parser.parse_args()


class Soak:
    """The running soak: token queue, batches enrolled, memory samples, client record."""

    def __init__(self, args: argparse.Namespace, the_stack: stack.Stack,
                 instruments: list[str]):
        self.args = args
        self.stack = the_stack
        self.instruments = instruments
        self.tokens: asyncio.Queue[str] = asyncio.Queue()
        self.recorder = client.Recorder()
        self.batches = 0
        self.enrolled = 0
        self.samples: list[tuple[float, dict[str, float], dict[str, int]]] = []
        self.deadline = 0.0
        self.started = 0.0

    def batch_size(self) -> int:
        # Enough patients for one interval of submits, with a margin.
        return int(self.args.rate * self.args.reminder_every * 1.25) + 10

    def enrol_batch(self) -> list[str]:
        """Enrol one batch (runs in a thread: the ORM is synchronous)."""
        from django.db import connection

        self.batches += 1
        try:
            tokens = stack.open_baseline_cohort(size=self.batch_size(),
                                                prefix=f"SOAK{self.batches:03d}", any_hour=True)
        finally:
            connection.close()
        self.enrolled += len(tokens)
        return tokens

    async def reminders(self) -> None:
        """Enrol a batch and queue the periodic reminder task, every --reminder-every s."""
        from outcomes.followups.tasks import send_due_reminders

        while time.monotonic() < self.deadline:
            for token in await asyncio.to_thread(self.enrol_batch):
                self.tokens.put_nowait(token)
            await asyncio.to_thread(send_due_reminders.delay)
            await asyncio.sleep(max(0.0, min(self.args.reminder_every,
                                             self.deadline - time.monotonic())))

    async def submits(self) -> None:
        """Start one visit every 1/RATE seconds, at most --concurrency in flight."""
        gate = asyncio.Semaphore(self.args.concurrency)
        running: set[asyncio.Task] = set()
        async with client.new_session(self.args.concurrency) as session:
            async def one(token: str) -> None:
                async with gate:
                    patient = client.Patient(session, base_url=self.stack.base_url,
                                             origin=self.stack.origin, recorder=self.recorder)
                    await patient.fill_visit(token, self.instruments,
                                             random.Random(f"soak:{token}"))

            number, begun = 0, None
            while time.monotonic() < self.deadline:
                try:
                    token = await asyncio.wait_for(self.tokens.get(),
                                                   self.deadline - time.monotonic())
                except TimeoutError:
                    break
                begun = begun or time.monotonic()  # pace from the first patient on
                task = asyncio.create_task(one(token))
                running.add(task)
                task.add_done_callback(running.discard)
                number += 1
                pause = begun + number / self.args.rate - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
            await asyncio.gather(*running)

    def sample(self) -> None:
        """Read the RSS of every process of the stack, grouped by role."""
        groups: dict[str, float] = defaultdict(float)
        pids: dict[str, int] = {}
        for name, process in self.stack.processes.items():
            groups[f"{name} main"] = stack.rss_mib(process.pid) or 0.0
            for child in stack.children(process.pid):
                rss = stack.rss_mib(child)
                if rss is not None:
                    groups[f"{name} workers"] += rss
                    pids[f"{name}:{child}"] = child
        self.samples.append((time.monotonic() - self.started, dict(groups), pids))

    async def sampler(self) -> None:
        while time.monotonic() < self.deadline:
            self.sample()
            await asyncio.sleep(self.args.sample_every)
        self.sample()

    async def run(self) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + self.args.minutes * 60
        await asyncio.gather(self.reminders(), self.submits(), self.sampler())


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Return the least-squares slope of (seconds, MiB) points, in MiB per hour."""
    if len(points) < 3:
        return 0.0
    return statistics.linear_regression([t for t, _ in points],
                                        [m for _, m in points]).slope * 3600


def report_memory(soak: Soak) -> bool:
    """Print memory per minute and per window after warm-up; return True if a group grows."""
    groups = sorted({g for _, values, _ in soak.samples for g in values})
    print("\nresident memory (MiB), last sample of each minute:")
    print("  minute " + "".join(f"{g:>18}" for g in groups))
    by_minute: dict[int, dict[str, float]] = {}
    for t, values, _ in soak.samples:
        by_minute[int(t // 60)] = values
    for minute, values in sorted(by_minute.items()):
        print(f"  {minute:>6} " + "".join(f"{values.get(g, 0):>18.1f}" for g in groups))
    warm = min(soak.args.warmup, soak.samples[-1][0] / 3)
    samples = [s for s in soak.samples if s[0] >= warm]
    start, end = samples[0][0], samples[-1][0]
    window = min(300.0, (end - start) / 3)
    grows = False
    print(f"\nafter {warm / 60:.1f} min of warm-up: first and last {window / 60:.1f} min of "
          f"{(end - start) / 60:.1f}; least-squares slope over them all")
    for group in groups:
        first = [v.get(group, 0) for t, v, _ in samples if t <= start + window]
        last = [v.get(group, 0) for t, v, _ in samples if t >= end - window]
        a, b = statistics.fmean(first), statistics.fmean(last)
        slope = slope_per_hour([(t, v.get(group, 0)) for t, v, _ in samples])
        growing = b - a > max(GROWTH_MIB, GROWTH_FRACTION * a) and slope > 0
        grows |= growing
        print(f"  {group:<16} first {a:7.1f}  last {b:7.1f}  change {b - a:+6.1f} MiB "
              f"({(b - a) / a * 100 if a else 0:+5.1f}%)  slope {slope:+7.1f} MiB/h  "
              f"{'GROWS' if growing else 'flat'}")
    first_pids, last_pids = set(samples[0][2]), set(samples[-1][2])
    if first_pids != last_pids:
        print(f"  worker processes replaced during the run: {sorted(first_pids - last_pids)} "
              f"-> {sorted(last_pids - first_pids)}")
    return grows


def report_database(soak: Soak) -> bool:
    from outcomes.followups.models import Reminder, Visit
    from outcomes.instruments.models import Response

    completed = Visit.objects.filter(status=Visit.Status.COMPLETED).count()
    responses = Response.objects.filter(state=Response.State.COMPLETED).count()
    sent = Reminder.objects.filter(status=Reminder.Status.SENT).count()
    reminders = Reminder.objects.count()
    flows = len(soak.recorder.visits)
    print(f"\ndatabase: {soak.enrolled:,} patients enrolled in {soak.batches} batches; "
          f"{completed:,} visits completed ({flows:,} flows finished), {responses:,} "
          f"completed responses; reminders {sent:,} sent of {reminders:,}")
    return completed == flows and responses == flows * len(soak.instruments)


def main() -> None:
    args = parse_args()
    the_stack = stack.make_stack(database_url=args.database_url, redis_url=args.redis_url,
                                 port=args.port)
    stack.prepare(the_stack)
    from django.db import connection

    from patients.demo import ensure_demo_study

    ensure_demo_study()
    instruments = stack.baseline_instruments()
    connection.close()
    stack.start_gunicorn(the_stack, workers=args.workers)
    worker = stack.start_celery_worker(the_stack, concurrency=args.celery_concurrency)
    ready_by = time.monotonic() + 60
    while (len(stack.children(worker.pid)) < args.celery_concurrency
           and time.monotonic() < ready_by and worker.poll() is None):
        time.sleep(0.5)
    print(f"soak: {args.minutes:g} min, {args.rate:g} visits/s ({args.rate * 10:g} requests/s), "
          f"gunicorn {args.workers} workers, Celery worker ({args.celery_concurrency} "
          f"processes), reminder run every {args.reminder_every:g} s, RSS every "
          f"{args.sample_every:g} s")
    soak = Soak(args, the_stack, instruments)
    try:
        asyncio.run(soak.run())
        time.sleep(min(30.0, args.reminder_every / 2))  # let the worker finish the last batch
        soak.sample()
    finally:
        stack.stop(the_stack)
    recorder = soak.recorder
    elapsed = soak.samples[-1][0]
    latencies = recorder.all_latencies()
    p = [client.percentile(latencies, q) * 1000 for q in (50, 95, 99)]
    print(f"\nclient: {recorder.requests:,} requests, {len(recorder.visits):,} visits in "
          f"{elapsed / 60:.1f} min; p50 {p[0]:.0f} ms, p95 {p[1]:.0f} ms, p99 {p[2]:.0f} ms; "
          f"errors {recorder.error_count}")
    for (kind, what), n in recorder.errors.items():
        print(f"ERROR {kind}: {what} × {n}")
    grows = report_memory(soak)
    stored = report_database(soak)
    print(f"\nverdict: memory {'GROWS' if grows else 'flat'}; "
          f"{'every finished visit stored once' if stored else 'STORAGE MISMATCH'}; "
          f"{recorder.error_count} errors")
    if grows or not stored or recorder.error_count:
        sys.exit(1)


if __name__ == "__main__":
    main()
