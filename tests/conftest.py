"""Shared fixtures: a study set up like the demo, without patients."""

from __future__ import annotations

import datetime as dt
import os

import pytest

REQUIRE_SERVICES = os.environ.get("OUTCOMES_REQUIRE_SERVICES") == "1"


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
def _stored_definitions_forgotten():
    """Definitions a test imported are rolled back with its database: forget them too."""
    yield
    from outcomes.instruments.stored import forget_stored_definitions

    forget_stored_definitions()


DEMO_NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)


@pytest.fixture
def demo(db):
    """The demo study with three synthetic patients, the clock frozen at ``DEMO_NOW``."""
    import time_machine

    from patients.demo import load_demo
    from patients.models import Study

    with time_machine.travel(DEMO_NOW, tick=False):
        load_demo(size=3, today=DEMO_NOW.date())
        yield Study.objects.get(code="BMC-LBP")
