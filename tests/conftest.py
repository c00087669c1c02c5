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
