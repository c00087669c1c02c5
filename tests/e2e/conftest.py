"""Real services for end-to-end tests: a Redis broker, Celery workers, Chromium.

Each fixture skips with a reason when its service is missing, or fails when
``OUTCOMES_REQUIRE_SERVICES=1`` (CI), so these tests never pass vacuously there.
The browser tests share ``browser`` (headless Chromium), ``press`` (a button by the
keyboard) and ``login`` (a demo staff user signed in through the login form).

They run on PostgreSQL only, CI's second pass: it is the production database, the Celery
workers can share the test database only there, and what the browser tests ask of the
database is the same ORM code the integration tests check on both databases; run on
SQLite too, they repeated several minutes of browser work for no more database coverage.
Under pytest-xdist the tests using a broker or Celery workers run one after another in
one xdist worker (their files are ``CELERY_TEST_FILES`` in tests/conftest.py): they share
Redis database 15 and flush it, and their timing (claims going stale, workers killed
mid-send) is kept free of a second set of workers competing for the cores. The browser
tests are independent (each xdist worker has its own test database and live server on a
free port) and are spread out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from tests.conftest import CELERY_TEST_FILES, service_missing

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("OUTCOMES_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def browser():
    """Headless Chromium (the system's), through Playwright's sync API."""
    if not Path(CHROMIUM).exists():
        service_missing("Chromium is not installed at /usr/bin/chromium")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()
        # Playwright's sync API runs the test in its own context, so Django opened the
        # test's database connection there; close it here, or it outlives the session
        # and the test database cannot be dropped.
        connections.close_all()


def press(page, button: str) -> None:
    """Activate a button from the keyboard (a mouse click right after a full-page
    screenshot can land on stale coordinates in headless Chromium)."""
    page.get_by_role("button", name=button).focus()
    page.keyboard.press("Enter")


@pytest.fixture
def login(live_server):
    """``login(page, username)``: sign a demo staff user in on ``page`` through the login
    form, as a person does (the button by the keyboard), and wait for the home page."""
    from patients.demo import DEMO_PASSWORD

    def sign_in(page, username: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        press(page, "Log in")
        page.wait_for_selector("text=Studies")

    return sign_in


ON_POSTGRESQL = ("end-to-end tests run on PostgreSQL, the production database: CI runs them in "
                 "its PostgreSQL pass")
#: Fixtures of a real broker or real Celery workers: their tests run in one xdist worker.
CELERY_FIXTURES = {"redis_broker", "workers", "broker", "pool"}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here not in item.path.parents:
            continue
        if connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason=ON_POSTGRESQL))
        module = item.path.relative_to(ROOT).as_posix()
        if CELERY_FIXTURES & set(getattr(item, "fixturenames", ())) and (
                module not in CELERY_TEST_FILES):
            raise pytest.UsageError(f"{item.nodeid} uses a real broker or Celery workers: "
                                    "add its file to CELERY_TEST_FILES in tests/conftest.py")


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture
def redis_broker():
    if not _port_open("127.0.0.1", 6379):
        service_missing("Redis is not running on 127.0.0.1:6379")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL; "
                    "CI runs this in its PostgreSQL pass")


class Workers:
    def __init__(self, broker: str, tmp: Path):
        self.broker = broker
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        db = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "outcomes.settings.test",
            "DATABASE_URL": (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                             f"{db['PORT'] or 5432}/{db['NAME']}"),
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp / "mail"),
        }

    def start(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "outcomes", "worker", "-l", "INFO",
             "-n", f"{name}@%h", "-c", str(concurrency), "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in (self.tmp / f"{name}.log").read_text():
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"worker {name} did not start:\n{(self.tmp / f'{name}.log').read_text()}")

    def enqueue(self, task, *args) -> None:
        """Publish ``task`` on the real broker through a fresh connection.

        A fresh connection, not the app's pool: earlier tests ran with eager
        settings, and the pool may hold a connection to another transport.
        """
        from outcomes.celery import app

        with app.connection_for_write(url=self.broker) as connection:
            task.apply_async(args=args, connection=connection)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def mail_count(self) -> int:
        folder = self.tmp / "mail"
        if not folder.exists():
            return 0
        return sum(p.read_text().count("\nSubject: ") for p in folder.iterdir())


def _forget_broker_connections(app) -> None:
    """Drop the app's cached broker pools, so ``.delay()`` here uses the broker now set.

    Celery builds them on first use and keeps them (it resets them only after a
    fork, the same way): an earlier test may have left them on another broker.
    """
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def worker_pool(broker: str, tmp_path: Path, settings, pool_class=None):
    """Publish on ``broker`` from this process; stop the pool's workers and keep their logs."""
    settings.CELERY_BROKER_URL = broker
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from outcomes.celery import app

    app.conf.broker_url = broker
    app.conf.task_always_eager = False
    _forget_broker_connections(app)
    pool = (pool_class or Workers)(broker, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()
        app.conf.task_always_eager = True
        _forget_broker_connections(app)
        for log in tmp_path.glob("*.log"):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / f"celery-{log.name}").write_text(log.read_text())


@pytest.fixture
def workers(redis_broker, postgres_only, tmp_path, settings):
    with worker_pool(redis_broker, tmp_path, settings) as pool:
        yield pool


def cohort(study, size: int, prefix: str = "E"):
    """Patients whose 1-month window opened today (in real time: the worker's clock)."""
    import datetime as dt

    from django.utils import timezone

    from tests.factories import enrol

    study.quiet_hours_start = study.quiet_hours_end = 0  # no quiet hours: CI runs any hour
    study.save()
    today = timezone.now().date()
    index = today - dt.timedelta(days=23)
    for n in range(size):
        enrol(study, f"{prefix}-{n:03d}", index_date=index, today=today,
              contact={"email": f"{prefix.lower()}{n}@example.org", "preferred_channel": "email"})


def wait_for(predicate, *, timeout: float = 60, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {message}")


def enrolled_today(study, code: str, timepoint: str = "baseline"):
    """A patient enrolled with today as the index date: their visit at ``timepoint``."""
    from django.utils import timezone

    from tests.factories import enrol

    today = timezone.now().date()
    return enrol(study, code, index_date=today, today=today).visits.get(
        timepoint__code=timepoint)
