"""A study's blanks allowed per score (``Study.max_missing``): a number per score in the
admin, validated against the scores its schedule produces, audited, migrated from
``odi_max_missing``, and flagged by the system check when it no longer fits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import TimePointInstrument
from outcomes.instruments.checks import check_study_set_up
from patients.models import Study
from tests.admin_forms import admin_form_data, change_url
from tests.factories import staff

FIELD = "max_missing__odi"


@pytest.fixture
def manager(study):
    user = staff("dm", "Data managers")
    user.is_staff = True
    user.save()
    return user


def post_blanks(client, study, value: str):
    page = client.get(change_url(study))
    data = admin_form_data(page)
    data["sites"] = [str(pk) for pk in study.sites.values_list("pk", flat=True)]
    data["reminder_days"] = "[3, 7]"
    data[FIELD] = value
    return client.post(change_url(study), data)


# The admin ---------------------------------------------------------------------------

def test_the_study_admin_has_a_labelled_number_for_each_score_that_counts_items(
    client, manager, study
):
    client.force_login(manager)
    page = client.get(change_url(study))
    form = page.context["adminform"].form
    # The ODI counts its ten sections; the others need every answer they use.
    assert [name for name in form.fields if name.startswith("max_missing")] == [FIELD]
    field = form.fields[FIELD]
    assert (field.label, field.min_value, field.max_value) == (
        "ODI (odi): items that may be left blank", 0, 9)
    html = page.content.decode()
    assert 'for="id_max_missing__odi"' in html and 'placeholder="1"' in html
    assert ("Of its 10 items (ODI), 0 to 9. With more left blank the score is not scorable. "
            "Empty: 1, as its definition allows.") in html


def test_a_number_saved_becomes_the_setting_with_its_before_and_after_audited(
    client, manager, study
):
    client.force_login(manager)
    reply = post_blanks(client, study, "0")
    assert reply.status_code == 302, reply.context["adminform"].form.errors
    study.refresh_from_db()
    assert study.max_missing == {"odi": 0}
    record = AuditRecord.objects.filter(object_type="patients.study", object_id=str(study.pk),
                                        action="update").latest("id")
    assert record.changes["max_missing"] == [{}, {"odi": 0}]
    # Emptied, the score takes its definition's allowance again.
    assert post_blanks(client, study, "").status_code == 302
    study.refresh_from_db()
    assert study.max_missing == {}
    record = AuditRecord.objects.filter(object_type="patients.study", object_id=str(study.pk),
                                        action="update").latest("id")
    assert record.changes["max_missing"] == [{"odi": 0}, {}]


def test_more_blanks_than_a_score_can_take_are_refused_at_the_field(client, manager, study):
    client.force_login(manager)
    reply = post_blanks(client, study, "10")
    assert reply.status_code == 200
    assert reply.context["adminform"].form.errors[FIELD] == [
        "Ensure this value is less than or equal to 9."]
    study.refresh_from_db()
    assert study.max_missing == {}


def test_a_study_that_schedules_nothing_yet_says_where_blanks_are_set(client, manager, study):
    TimePointInstrument.objects.filter(timepoint__study=study).delete()
    client.force_login(manager)
    page = client.get(change_url(study))
    assert not [n for n in page.context["adminform"].form.fields if n.startswith("max_missing")]
    assert ("Blanks allowed per score: set here once the study's time points schedule an "
            "instrument whose score counts its items." in page.content.decode())


# The model ---------------------------------------------------------------------------

@pytest.mark.parametrize(("setting", "problem"), [
    ({"odii": 0}, "odii: no instrument scheduled in BMC-LBP produces this score; those "
                  "that may: ODI (odi)."),
    ({"eq5d_index_uk": 1}, "EQ-5D index (UK) (eq5d_index_uk): this score needs every answer "
                           "it uses; no blank can be allowed."),
    ({"gph_t": 1}, "PROMIS physical health (T-score) (gph_t): this score needs every "
                   "answer it uses; no blank can be allowed."),
    ({"nrs": 0}, "NRS pain (nrs): this score needs every answer it uses; no blank can be "
                 "allowed."),
    ({"odi": 10}, "ODI (odi): blanks allowed must be a whole number from 0 to 9 (it counts "
                  "10 items), got 10."),
    ({"odi": -1}, "ODI (odi): blanks allowed must be a whole number from 0 to 9 (it counts "
                  "10 items), got -1."),
    ({"odi": "1"}, "ODI (odi): blanks allowed must be a whole number from 0 to 9 (it counts "
                   "10 items), got '1'."),
    ([1], 'Blanks allowed must map score keys to numbers, e.g. {"odi": 0}.'),
])
def test_the_model_refuses_a_setting_that_names_no_score_of_the_study(study, setting, problem):
    study.max_missing = setting
    with pytest.raises(ValidationError) as refused:
        study.full_clean()
    [message] = refused.value.message_dict["max_missing"]
    assert message.startswith(problem)
    study.max_missing = {"odi": 9}
    study.full_clean()


def test_the_system_check_flags_a_setting_the_schedule_no_longer_fits(study):
    Study.objects.filter(pk=study.pk).update(max_missing={"odi": 0})
    assert check_study_set_up(databases=["default"]) == []
    TimePointInstrument.objects.filter(timepoint__study=study, instrument__code="odi").delete()
    messages = [m for m in check_study_set_up(databases=["default"])
                if m.id == "instruments.W003"]
    assert [m.msg for m in messages] == [
        "Study BMC-LBP, blanks allowed per score: odi: no instrument scheduled in BMC-LBP "
        "produces this score; none of its scores may leave items blank."]


# The migration -----------------------------------------------------------------------

BEFORE = [("patients", "0006_study_reference_arm_and_primary_comparisons")]
AFTER = [("patients", "0007_study_max_missing")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_each_studys_odi_allowance_and_goes_back():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("patients", "Study")
        old.objects.create(code="STRICT", title="t", odi_max_missing=0)
        old.objects.create(code="LOOSE", title="t", odi_max_missing=3)
        old.objects.create(code="USUAL", title="t", odi_max_missing=1)
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("patients", "Study")
        assert dict(new.objects.values_list("code", "max_missing")) == {
            "STRICT": {"odi": 0}, "LOOSE": {"odi": 3}, "USUAL": {}}
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        back = executor.loader.project_state(BEFORE).apps.get_model("patients", "Study")
        assert dict(back.objects.values_list("code", "odi_max_missing")) == {
            "STRICT": 0, "LOOSE": 3, "USUAL": 1}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
