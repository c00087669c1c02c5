"""Shared fixtures: a study set up like the demo, without patients."""

from __future__ import annotations

import contextlib
import datetime as dt
import os

import pytest

REQUIRE_SERVICES = os.environ.get("OUTCOMES_REQUIRE_SERVICES") == "1"


#: The test files of a real broker and real Celery workers (tests/e2e/conftest.py says why
#: they run one after another). Under pytest-xdist (``make test``: ``--dist loadgroup``)
#: their tests form one unit of work, which one xdist worker runs.
CELERY_TEST_FILES = ("tests/e2e/test_celery_alerts.py", "tests/e2e/test_celery_reminders.py",
                     "tests/e2e/test_faults.py")


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: pytest without xdist has none
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup``, with the tests of ``CELERY_TEST_FILES`` in one group.

    pytest-xdist 3.8 reads ``xdist_group`` marks through the test ids, which pytest 9.2
    no longer lets a plugin change (pytest-xdist issue 1386): the marks are silently
    ignored. The group here is chosen from each test's file instead, which the scheduler
    sees; every other test is a unit of its own, as under ``--dist load``.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class CeleryTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::", 1)[0] in CELERY_TEST_FILES:
                return "celery"
            return super()._split_scope(nodeid)

    return CeleryTogether(config, log)


def service_missing(reason: str) -> None:
    """Skip a test whose real service is absent; in CI (OUTCOMES_REQUIRE_SERVICES=1) fail."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture
def study(db):
    """The demo study, its arms, site, schedule and rules, with no patients."""
    from patients.demo import ensure_demo_study

    return ensure_demo_study()


@pytest.fixture
def today() -> dt.date:
    return dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language, whatever ran before it in its process.

    A request in Spanish leaves Spanish active in the thread (LocaleMiddleware activates
    the request's language and does not reset it), so a test that formats dates without
    a request of its own followed the last request before it: under pytest-xdist's order
    two date messages came out as "3 de febrero de 2026".
    """
    from django.utils import translation

    translation.deactivate()
    yield


@pytest.fixture(autouse=True)
def _stored_definitions_forgotten():
    """Definitions a test imported are rolled back with its database: forget them too."""
    yield
    from outcomes.instruments.stored import forget_stored_definitions

    forget_stored_definitions()


DEMO_NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)


@contextlib.contextmanager
def rolled_back_after(django_db_blocker):
    """Build data once for a whole module: in a transaction rolled back at the module's end.

    For a module-scoped fixture. Each test of the module runs in a savepoint within that
    transaction (pytest-django's ``db``), so what a test changes is undone after it, as
    ever; only the building is shared. Every test of such a module sees the data, so use
    it where every database test wants it and none is transactional.
    """
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def _demo_for_the_module(django_db_setup, django_db_blocker):
    import time_machine

    from patients.demo import load_demo

    with rolled_back_after(django_db_blocker):
        with time_machine.travel(DEMO_NOW, tick=False):
            load_demo(size=3, today=DEMO_NOW.date())
        yield


@pytest.fixture
def demo_once(_demo_for_the_module, db):
    """``demo``, loaded once for the module (``rolled_back_after``), the clock frozen at
    ``DEMO_NOW`` in each test. A module all of whose tests use ``demo`` overrides it::

        @pytest.fixture
        def demo(demo_once):
            return demo_once
    """
    import time_machine

    from patients.models import Study

    with time_machine.travel(DEMO_NOW, tick=False):
        yield Study.objects.get(code="BMC-LBP")


@pytest.fixture
def demo(db):
    """The demo study with three synthetic patients, the clock frozen at ``DEMO_NOW``."""
    import time_machine

    from patients.demo import load_demo
    from patients.models import Study

    with time_machine.travel(DEMO_NOW, tick=False):
        load_demo(size=3, today=DEMO_NOW.date())
        yield Study.objects.get(code="BMC-LBP")
