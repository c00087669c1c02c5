"""Bring up and take down the production-like stack on this machine; build its cohort.

Used by ``bench/load_bench.py`` and ``bench/soak.py``. The stack is the deployed one
(``docs/deployment.md``): gunicorn with a fixed number of sync workers on
``bench.loadstack.settings`` (production settings), PostgreSQL, Redis as cache and
Celery broker, and (for the soak) a real Celery worker. The database named by
``--database-url`` is emptied; the Redis database of ``--redis-url`` is flushed.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / "var" / "loadstack"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/outcomes_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
# What a TLS-terminating proxy in front of gunicorn adds (docs/deployment.md): the app
# then sees HTTPS, so HSTS, secure cookies and the CSRF origin check all apply.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s'  # the Procfile's
LOGGER_CLASS = "outcomes.gunicorn_logging.RedactingLogger"  # the Procfile's: tokens redacted


@dataclass
class Stack:
    """The environment of one run and the processes it started (stopped by their PIDs)."""

    database_url: str
    redis_url: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """The origin a browser sends behind the TLS proxy, for Django's CSRF check."""
        return f"https://127.0.0.1:{self.port}"


def make_stack(*, database_url: str, redis_url: str, port: int) -> Stack:
    """Return the stack's environment (production settings) and export it to this process."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.loadstack.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url.replace("redis://", "rediscache://", 1),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"https://127.0.0.1:{port}",
        "STATIC_ROOT": str(RUN_DIR / "static"),
        "EMAIL_BACKEND": "bench.loadstack.channels.DiscardEmailBackend",
        "SMS_BACKEND": "bench.loadstack.channels.DiscardSMSBackend",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    return Stack(database_url=database_url, redis_url=redis_url, port=port,
                 env={**os.environ, **env})


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database if it does not exist yet."""
    import psycopg2

    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("--database-url must be a PostgreSQL URL (the database will be emptied)")
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(host=parts.hostname, port=parts.port or 5432,
                             user=parts.username or "postgres", password=parts.password,
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def prepare(stack: Stack, *, collectstatic: bool = True, flush_redis: bool = True) -> None:
    """Set Django up, migrate and empty the database, flush Redis (unless told not to),
    collect static files."""
    import django
    import redis

    ensure_database(stack.database_url)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from .views import YARDSTICK_TABLE

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {YARDSTICK_TABLE}")
        cursor.execute(f"CREATE TABLE {YARDSTICK_TABLE} (id bigserial PRIMARY KEY, "
                       "client varchar(40) NOT NULL, created_at timestamptz DEFAULT now())")
    if flush_redis:
        redis.Redis.from_url(stack.redis_url).flushdb()
    if collectstatic:
        # Production stores static files in a manifest: pages cannot render without it.
        call_command("collectstatic", interactive=False, verbosity=0)


def open_baseline_cohort(*, size: int, prefix: str, any_hour: bool = False) -> list[str]:
    """Create ``size`` patients whose baseline visit is open today; return their link tokens.

    ``tests.factories.bulk_cohort`` with every index date today, so every baseline
    visit is open, as on the morning of a reminder burst. Links come from
    ``ensure_link``, as the app issues them. ``any_hour`` turns the study's quiet
    hours off, so reminders go out whenever the soak runs.
    """
    from django.db import transaction

    from outcomes.followups.links import ensure_link
    from outcomes.followups.models import Visit
    from outcomes.followups.services import study_today
    from patients.demo import ensure_demo_study
    from tests.factories import bulk_cohort

    study = ensure_demo_study()
    if any_hour:
        study.quiet_hours_start = study.quiet_hours_end = 0
        study.save(update_fields=["quiet_hours_start", "quiet_hours_end"])
    with transaction.atomic():
        enrolments = bulk_cohort(study, size, today=study_today(study), prefix=prefix,
                                 spread_days=1)
        baseline = Visit.objects.filter(
            enrolment__in=enrolments, timepoint__is_baseline=True,
        ).order_by("enrolment__patient__code")
        tokens = [ensure_link(visit=visit) for visit in baseline]
    return tokens


def start_gunicorn(stack: Stack, *, workers: int) -> subprocess.Popen:
    """Start gunicorn as the Procfile does (sync workers, redacted access log); wait for it."""
    log = open(RUN_DIR / "gunicorn.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "outcomes.wsgi", "--workers", str(workers),
         "--bind", f"127.0.0.1:{stack.port}", "--logger-class", LOGGER_CLASS,
         "--access-logfile", str(RUN_DIR / "access.log"), "--access-logformat", ACCESS_LOG_FORMAT],
        cwd=ROOT, env=stack.env, stdout=log, stderr=subprocess.STDOUT,
    )
    stack.processes["gunicorn"] = process
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with {process.returncode}; see {RUN_DIR / 'gunicorn.log'}")
        try:
            request = urllib.request.Request(f"{stack.base_url}/accounts/login/",
                                             headers=PROXY_HEADERS)
            with urllib.request.urlopen(request, timeout=5) as reply:
                if reply.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit("gunicorn did not answer within 60 s")


def start_celery_worker(stack: Stack, *, concurrency: int) -> subprocess.Popen:
    """Start a real Celery worker (prefork) on the stack's broker, as the Procfile does."""
    log = open(RUN_DIR / "celery.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "outcomes", "worker", "--loglevel", "WARNING",
         "--concurrency", str(concurrency), "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=stack.env, stdout=log, stderr=subprocess.STDOUT,
    )
    stack.processes["celery"] = process
    return process


def stop(stack: Stack) -> None:
    """Stop every process this run started, by its PID (SIGTERM, then SIGKILL)."""
    for process in stack.processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in stack.processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    stack.processes.clear()


def children(pid: int) -> list[int]:
    """Return the PIDs of ``pid``'s direct children (gunicorn or Celery pool workers)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def rss_mib(pid: int) -> float | None:
    """Return a process's resident set size in MiB, or None if it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> dict[int, float]:
    """Return each live process's CPU time so far (user + system), in seconds."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return found


def postgres_pids() -> list[int]:
    """Return the PIDs of the PostgreSQL backends serving this stack's database.

    Only this database's (the web workers' persistent connections): the CPU of other
    databases' backends on a shared machine is not the stack's.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        pids = [pid for (pid,) in cursor.fetchall()]
    connection.close()
    return pids


class CpuMeter:
    """CPU seconds the web server and the database spend between two readings.

    Throughput on a shared machine moves with its other work; the CPU a request costs
    the server moves much less, so it is the steadier figure to compare loads by.
    Processes that start during the span count in full; those that end are missed. The
    database's share is its backends' own work: shared processes (WAL writer,
    checkpointer, autovacuum) are not in it.
    """

    def __init__(self, gunicorn_pid: int):
        self.gunicorn_pid = gunicorn_pid
        self.start = self._read()

    def _read(self) -> dict[str, dict[int, float]]:
        return {"web": cpu_seconds([self.gunicorn_pid, *children(self.gunicorn_pid)]),
                "database": cpu_seconds(postgres_pids())}

    def spent(self) -> dict[str, float]:
        end = self._read()
        return {group: sum(t - self.start[group].get(pid, 0.0) for pid, t in end[group].items())
                for group in end}


def baseline_instruments() -> list[str]:
    """Return the codes of the instruments a baseline visit asks, in the patient's order."""
    from outcomes.followups.models import TimePointInstrument

    return list(TimePointInstrument.objects.filter(timepoint__is_baseline=True)
                .order_by("order").values_list("instrument__code", flat=True))


def analyze() -> None:
    """Give the planner the statistics a database in use has (autovacuum keeps them).

    The cohort is bulk-loaded with no responses yet; without this the planner would take
    the response and score tables for empty until autovacuum's first ANALYZE (a minute or
    more into the run) and plan a patient's score read as a scan of every score row.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
