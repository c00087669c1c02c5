"""Where a patient's visit spends its server time: each kind of request, in one process.

Run:  .venv/bin/python bench/load_profile.py [--patients 30] [--profile submit ...]

The load benchmark's requests, without gunicorn, network or client: Django's test
client on the same production settings (``bench/loadstack/settings.py``) and the same
PostgreSQL database (--database-url, default outcomes_load, emptied; Redis is used as
the cache but not flushed). Each simulated patient opens the link, shows and saves each
instrument page, submits, and sees the thanks page; the yardstick view is called as
often. Prints the mean time and queries of each kind of request, the time per visit
and per request against the yardstick's, and with --profile the cProfile listing
(cumulative) of the kinds named.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadstack import client, stack

KINDS = (client.OPEN, client.PAGE, client.SAVE, client.SUBMIT, client.THANKS, client.YARDSTICK)
SHORT = {"open": client.OPEN, "page": client.PAGE, "save": client.SAVE,
         "submit": client.SUBMIT, "thanks": client.THANKS, "yardstick": client.YARDSTICK}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=30)
    parser.add_argument("--profile", nargs="*", default=[], choices=sorted(SHORT),
                        help="kinds of request to profile")
    parser.add_argument("--rows", type=int, default=40, help="lines of each profile")
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"),
                        help="order of each profile's lines (default: %(default)s)")
    parser.add_argument("--database-url", default=stack.DEFAULT_DATABASE_URL,
                        help="PostgreSQL database to EMPTY and use (default: %(default)s)")
    parser.add_argument("--redis-url", default=stack.DEFAULT_REDIS_URL)
    args = parser.parse_args()
    the_stack = stack.make_stack(database_url=args.database_url, redis_url=args.redis_url,
                                 port=8101)
    stack.prepare(the_stack, flush_redis=False)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # Two warm-up patients: the first requests import modules and fill template caches.
    tokens = stack.open_baseline_cohort(size=args.patients + 2, prefix="PROF")
    instruments = stack.baseline_instruments()
    browser = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1")
    profiles = {SHORT[k]: cProfile.Profile() for k in args.profile}
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    queries: dict[str, list[int]] = {k: [] for k in KINDS}

    def call(kind, method, path, expect, data=None, *, measure=True):
        profile = profiles.get(kind) if measure else None
        with CaptureQueriesContext(connection) as captured:
            if profile:
                profile.enable()
            started = time.perf_counter()
            reply = getattr(browser, method)(path, data or {})
            elapsed = time.perf_counter() - started
            if profile:
                profile.disable()
        if reply.status_code != expect:
            sys.exit(f"{kind} {path}: {reply.status_code}, expected {expect}")
        if measure:
            times[kind].append(elapsed)
            queries[kind].append(len(captured))

    for number, token in enumerate(tokens):
        measure = number >= 2
        if number == 2:  # after the warm-up visits
            stack.analyze()
        browser.cookies.clear()
        rng = random.Random(number)
        start = f"/s/{token}/"
        call(client.OPEN, "get", start, 302, measure=measure)
        for page, code in enumerate(instruments, start=1):
            call(client.PAGE, "get", f"{start}{page}/", 200, measure=measure)
            kind = client.SUBMIT if page == len(instruments) else client.SAVE
            call(kind, "post", f"{start}{page}/", 302,
                 {**client.random_answers(code, rng), "action": "next"}, measure=measure)
        call(client.THANKS, "get", f"{start}done/", 200, measure=measure)
    for number in range(10 * (args.patients + 2)):
        call(client.YARDSTICK, "post", "/bench/yardstick/", 200, {"client": "profile"},
             measure=number >= 20)

    print(f"server time per request, one process, {args.patients} visits "
          f"(mean; the machine's other work included):")
    mean = {k: statistics.fmean(v) * 1000 for k, v in times.items()}
    for kind in KINDS:
        print(f"  {kind:<16} {mean[kind]:7.1f} ms  {statistics.fmean(queries[kind]):5.1f} "
              f"queries  (n={len(times[kind])})")
    per_visit = (mean[client.OPEN] + len(instruments) * mean[client.PAGE]
                 + (len(instruments) - 1) * mean[client.SAVE] + mean[client.SUBMIT]
                 + mean[client.THANKS])
    requests = 2 + 2 * len(instruments)
    print(f"  one visit: {per_visit:.1f} ms in {requests} requests = {per_visit / requests:.1f} "
          f"ms a request, {per_visit / requests / mean[client.YARDSTICK]:.1f} × the "
          f"yardstick's {mean[client.YARDSTICK]:.1f} ms")
    for kind, profile in profiles.items():
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.rows)
        print(f"\n=== {kind} ===\n{out.getvalue()}")


if __name__ == "__main__":
    main()
