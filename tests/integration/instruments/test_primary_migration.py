"""A rule's ``is_primary`` flag became the study's primary comparisons (migration 0009).

The migration runs on a database set up as the old schema left it: from the state
before it, with rules flagged as the old demo flagged them, then forward and back.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("instruments", "0008_response_not_scorable"),
          ("patients", "0006_study_reference_arm_and_primary_comparisons"),
          ("followups", "0007_reminder_once_not_counting_cancelled")]
AFTER = [("instruments", "0009_responderrule_is_primary_to_primary_comparisons")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(executor_leaves())  # back to the latest schema for the tests after this one


def executor_leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _study(apps, code: str, *, timepoints=(("baseline", 0, True), ("m3", 90, False),
                                            ("m12", 365, False))):
    Study = apps.get_model("patients", "Study")
    TimePoint = apps.get_model("followups", "TimePoint")
    study = Study.objects.create(code=code, title=code)
    points = {tp: TimePoint.objects.create(study=study, code=tp, label=tp, target_day=day,
                                           is_baseline=is_baseline)
              for tp, day, is_baseline in timepoints}
    return study, points


def _rule(apps, study, code: str, *, primary: bool, order: int = 0):
    return apps.get_model("instruments", "ResponderRule").objects.create(
        study=study, code=code, score="odi", direction="decrease", kind="points",
        threshold=10, is_primary=primary, order=order)


def test_a_flagged_rule_becomes_a_primary_comparison_at_the_last_follow_up(old_apps):
    apps = old_apps
    PrimaryComparison = apps.get_model("patients", "PrimaryComparison")
    study, points = _study(apps, "OLD")
    odi = _rule(apps, study, "odi_mcid_10pt", primary=True, order=0)
    nrs = _rule(apps, study, "nrs_2pt", primary=True, order=1)
    _rule(apps, study, "odi_50pct", primary=False, order=2)
    # The study had already named one of them, at 3 months: that one is left alone.
    PrimaryComparison.objects.create(study=study, rule=nrs, timepoint=points["m3"], order=4)
    # A study with a baseline only has nothing to compare at: its flag is dropped.
    lone, _ = _study(apps, "LONE", timepoints=(("baseline", 0, True),))
    _rule(apps, lone, "odi_mcid_10pt", primary=True)

    apps = migrate(AFTER)
    rows = apps.get_model("patients", "PrimaryComparison").objects.order_by("order")
    assert [(r.study.code, r.rule.code, r.timepoint.code, r.order) for r in rows] == [
        ("OLD", "nrs_2pt", "m3", 4), ("OLD", "odi_mcid_10pt", "m12", 5)]
    rule = apps.get_model("instruments", "ResponderRule")
    assert "is_primary" not in {f.name for f in rule._meta.get_fields()}
    assert rule.objects.get(pk=odi.pk).code == "odi_mcid_10pt"

    apps = migrate(BEFORE)  # backwards: the flag again on every rule of a comparison
    flagged = apps.get_model("instruments", "ResponderRule").objects.filter(is_primary=True)
    assert sorted(flagged.values_list("study__code", "code")) == [
        ("OLD", "nrs_2pt"), ("OLD", "odi_mcid_10pt")]

