"""The migration that makes the database refuse a second version at one time point.

It runs on a database as the schema before it left it: each row gets its instrument's
code; a time point already asking two versions of one questionnaire stops it, named,
so that a person chooses which to keep (the system check instruments.E004 says so
before ``migrate`` starts).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("followups", "0007_reminder_once_not_counting_cancelled")
AFTER = ("followups", "0008_timepointinstrument_one_version")


def leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def at(followups):
    """Every app at its latest migration, the time points at ``followups``."""
    return [node for node in leaves() if node[0] != "followups"] + [followups]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps(transactional_db):
    apps = migrate(at(BEFORE))
    yield apps
    migrate(leaves())  # back to the latest schema for the tests after this one


def _setup(apps, *, twice: bool):
    Study = apps.get_model("patients", "Study")
    TimePoint = apps.get_model("followups", "TimePoint")
    Instrument = apps.get_model("instruments", "Instrument")
    TimePointInstrument = apps.get_model("followups", "TimePointInstrument")
    study = Study.objects.create(code="OLD", title="Old study")
    m3 = TimePoint.objects.create(study=study, code="m3", label="3 months", target_day=90)
    one, two = (Instrument.objects.create(code="phq9", version=v, title="PHQ-9",
                                          short_title="PHQ-9", scoring_version="1")
                for v in ("1.0", "2.0"))
    other = Instrument.objects.create(code="gad7", version="1.0", title="GAD-7",
                                      short_title="GAD-7", scoring_version="1")
    TimePointInstrument.objects.create(timepoint=m3, instrument=one, order=0)
    TimePointInstrument.objects.create(timepoint=m3, instrument=other, order=1)
    if twice:
        TimePointInstrument.objects.create(timepoint=m3, instrument=two, order=2)
    return m3


def test_each_row_gets_its_instruments_code(old_apps):
    m3 = _setup(old_apps, twice=False)
    apps = migrate(at(AFTER))
    rows = apps.get_model("followups", "TimePointInstrument").objects.filter(
        timepoint_id=m3.pk).order_by("order")
    assert [(r.instrument.code, r.instrument_code) for r in rows] == [
        ("phq9", "phq9"), ("gad7", "gad7")]


def test_two_versions_at_one_time_point_stop_it_named(old_apps):
    m3 = _setup(old_apps, twice=True)
    with pytest.raises(RuntimeError) as stopped:
        migrate(at(AFTER))
    assert str(stopped.value) == (
        "A time point asks two versions of one questionnaire; one set of scores was never "
        "shown. Remove one of each pair in the admin (Time points), then migrate again: "
        "study OLD, time point m3: phq9 versions 1.0 and 2.0.")
    # Nothing changed: one version removed, it migrates.
    apps = migrate(at(BEFORE))
    rows = apps.get_model("followups", "TimePointInstrument").objects.filter(
        timepoint_id=m3.pk)
    assert rows.count() == 3
    rows.filter(instrument__version="2.0").delete()
    migrate(at(AFTER))
