"""A responder rule names a score an instrument scheduled in its study produces, and improves
the way that score does: the model, the admin's list of scores, the seed, the system check."""

from __future__ import annotations

from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import TimePoint, TimePointInstrument
from outcomes.instruments.checks import check_study_set_up
from outcomes.instruments.models import Instrument, ResponderRule
from outcomes.instruments.responders import Direction, SimpleRule, ThresholdKind
from outcomes.instruments.services import ensure_rules
from patients.models import Study
from tests.factories import staff

# The demo study's scores, in the order its time points ask the instruments.
CHOICES = ("ODI (odi), NRS pain (nrs), EQ-5D index (UK) (eq5d_index_uk), "
           "EQ-5D index (US) (eq5d_index_us), EQ VAS (eq5d_vas), "
           "PROMIS physical health (T-score) (gph_t), PROMIS mental health (T-score) (gmh_t)")


def rule(study, **fields) -> ResponderRule:
    return ResponderRule(study=study, **{"code": "new_rule", "kind": "points",
                                         "threshold": 10, **fields})


def refusal(candidate: ResponderRule) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    return refused.value.message_dict


@pytest.fixture
def nrs_only(study):
    """A second study whose one time point asks the NRS alone."""
    other = Study.objects.create(code="KNEE-OA", title="Knee study")
    baseline = TimePoint.objects.create(study=other, code="baseline", label="Baseline",
                                        target_day=0, is_baseline=True)
    TimePointInstrument.objects.create(timepoint=baseline,
                                       instrument=Instrument.objects.get(code="nrs11"))
    return other


@pytest.fixture
def manager(study):
    user = staff("dm", "Data managers")
    user.is_staff = True
    user.save()
    return user


# The model ---------------------------------------------------------------------------

def test_a_rule_on_a_score_no_scheduled_instrument_produces_is_refused_with_the_choices(study):
    assert refusal(rule(study, score="odii", direction="decrease")) == {"score": [
        f"No instrument scheduled in BMC-LBP produces the score 'odii'; choose one of: "
        f"{CHOICES}."]}


def test_a_score_only_another_studys_instrument_produces_is_refused(study, nrs_only):
    assert refusal(rule(nrs_only, score="odi")) == {"score": [
        "No instrument scheduled in KNEE-OA produces the score 'odi'; choose one of: "
        "NRS pain (nrs)."]}
    rule(nrs_only, score="nrs").full_clean()


def test_a_study_that_schedules_nothing_yet_says_so(db):
    empty = Study.objects.create(code="NEW", title="New study")
    assert refusal(rule(empty, score="odi")) == {"score": [
        "No instrument with questions is scheduled in NEW yet, so no score can be chosen: "
        "schedule one at a time point first."]}


def test_a_threshold_rule_without_a_score_is_refused_in_words_a_combination_needs_none(study):
    assert refusal(rule(study, score=""))["score"] == [
        "A threshold rule measures one score: choose it from the list."]
    rule(study, kind="any", threshold=None).full_clean()


@pytest.mark.parametrize(("score", "improvement"), [
    ("odi", "decrease"), ("nrs", "decrease"), ("eq5d_index_uk", "increase"),
    ("eq5d_vas", "increase"), ("gph_t", "increase"), ("gmh_t", "increase")])
def test_a_direction_left_blank_is_the_scores_own(study, score, improvement):
    # SPEC 4: a decrease is improvement for the ODI and NRS; an increase for the EQ-5D
    # index, EQ VAS and PROMIS T-scores.
    candidate = rule(study, score=score, direction="")
    candidate.full_clean()
    assert candidate.direction == improvement


def test_a_direction_against_the_scores_is_refused(study):
    assert refusal(rule(study, score="odi", direction="increase")) == {"direction": [
        "For ODI (odi) lower is better, so an improvement is a decrease, not an increase. "
        "Leave the direction blank to take it from the score."]}
    assert refusal(rule(study, score="gph_t", direction="decrease"))["direction"] == [
        "For PROMIS physical health (T-score) (gph_t) higher is better, so an improvement "
        "is an increase, not a decrease. Leave the direction blank to take it from the score."]


# The admin ---------------------------------------------------------------------------

def test_the_admin_offers_the_studys_scores_by_name_and_key(client, manager):
    client.force_login(manager)
    page = client.get(reverse("admin:instruments_responderrule_add"))
    choices = page.context["adminform"].form.fields["score"].choices
    assert choices == [
        ("", "— none (for a combination) —"),
        ("odi", "ODI (odi), lower is better"), ("nrs", "NRS pain (nrs), lower is better"),
        ("eq5d_index_uk", "EQ-5D index (UK) (eq5d_index_uk), higher is better"),
        ("eq5d_index_us", "EQ-5D index (US) (eq5d_index_us), higher is better"),
        ("eq5d_vas", "EQ VAS (eq5d_vas), higher is better"),
        ("gph_t", "PROMIS physical health (T-score) (gph_t), higher is better"),
        ("gmh_t", "PROMIS mental health (T-score) (gmh_t), higher is better")]
    assert '<option value="odi">ODI (odi), lower is better</option>' in page.content.decode()


def test_the_admin_saves_a_rule_with_its_direction_from_the_score_audited(
    client, study, manager
):
    client.force_login(manager)
    reply = client.post(reverse("admin:instruments_responderrule_add"), {
        "study": study.pk, "code": "nrs_3pt", "score": "nrs", "direction": "",
        "kind": "points", "threshold": "3", "order": "20"})
    assert reply.status_code == 302, reply.context["adminform"].form.errors
    saved = ResponderRule.objects.get(study=study, code="nrs_3pt")
    assert saved.direction == "decrease"
    record = AuditRecord.objects.get(object_type="instruments.responderrule",
                                     object_id=str(saved.pk), action="create")
    assert record.changes["direction"] == [None, "decrease"]
    assert record.changes["score"] == [None, "nrs"]


def test_the_admin_refuses_a_typed_score_and_a_rule_saved_before_the_check(
    client, study, manager
):
    client.force_login(manager)
    url = reverse("admin:instruments_responderrule_add")
    reply = client.post(url, {"study": study.pk, "code": "odi_typo", "score": "odii",
                              "kind": "points", "threshold": "10", "order": "20"})
    assert reply.status_code == 200
    assert not ResponderRule.objects.filter(code="odi_typo").exists()
    # A rule saved before the check: its score shown as it is, and refused until changed.
    old = ResponderRule.objects.create(study=study, code="odi_old", score="odii",
                                       direction="decrease", kind="points", threshold=10)
    change = reverse("admin:instruments_responderrule_change", args=[old.pk])
    page = client.get(change)
    assert ('<option value="odii" selected>odii (no scheduled instrument gives it)</option>'
            in page.content.decode())
    reply = client.post(change, {"study": study.pk, "code": "odi_old", "score": "odii",
                                 "direction": "decrease", "kind": "points",
                                 "threshold": "10", "order": "0"})
    assert reply.status_code == 200
    assert ("No instrument scheduled in BMC-LBP produces the score &#x27;odii&#x27;; choose "
            "one of: ODI (odi), NRS pain (nrs)," in reply.content.decode())
    reply = client.post(change, {"study": study.pk, "code": "odi_old", "score": "odi",
                                 "direction": "", "kind": "points", "threshold": "10",
                                 "order": "0"})
    assert reply.status_code == 302
    old.refresh_from_db()
    assert (old.score, old.direction) == ("odi", "decrease")


# The seed ----------------------------------------------------------------------------

def test_the_seed_refuses_a_rule_on_a_score_the_study_does_not_produce(study):
    rules = [SimpleRule("eq5d5l_mid", "eq5d5l_index", Direction.INCREASE,
                        ThresholdKind.POINTS, Fraction(1, 10)),
             SimpleRule("odi_worse", "odi", Direction.INCREASE, ThresholdKind.POINTS,
                        Fraction(10))]
    with pytest.raises(ValidationError) as refused:
        ensure_rules(study=study, rules=rules)
    assert refused.value.messages == [
        f"eq5d5l_mid: No instrument scheduled in BMC-LBP produces the score 'eq5d5l_index'; "
        f"choose one of: {CHOICES}.",
        "odi_worse: For ODI (odi) lower is better, so an improvement is a decrease, not an "
        "increase. Leave the direction blank to take it from the score."]
    assert not ResponderRule.objects.filter(code__in=["eq5d5l_mid", "odi_worse"]).exists()


# The system check --------------------------------------------------------------------

def test_the_system_check_flags_rules_on_unknown_scores_and_against_their_score(study):
    assert check_study_set_up(databases=["default"]) == []  # the seeded rules are sound
    ResponderRule.objects.create(study=study, code="odi_typo", score="odii",
                                 direction="decrease", kind="points", threshold=10)
    ResponderRule.objects.create(study=study, code="gph_down", score="gph_t",
                                 direction="decrease", kind="points", threshold=5)
    found = {m.id: m.msg for m in check_study_set_up(databases=["default"])}
    assert found == {
        "instruments.W001": "Study BMC-LBP, responder rule odi_typo: No instrument scheduled "
        f"in BMC-LBP produces the score 'odii'; choose one of: {CHOICES}. Every patient is "
        "'not evaluable' under this rule.",
        "instruments.W002": "Study BMC-LBP, responder rule gph_down: For PROMIS physical "
        "health (T-score) (gph_t) higher is better, so an improvement is an increase, not a "
        "decrease. Leave the direction blank to take it from the score.",
    }


def test_an_instrument_taken_off_the_schedule_leaves_its_rules_flagged(study):
    TimePointInstrument.objects.filter(timepoint__study=study,
                                       instrument__code="eq5d3l").delete()
    flagged = [m.msg.split(":")[0] for m in check_study_set_up(databases=["default"])]
    assert flagged == ["Study BMC-LBP, responder rule eq5d_uk_mid"]


# A score never measured at baseline (review of issue 17, #11a) -----------------------

NOT_AT_BASELINE = ("NRS pain (nrs) is not asked at baseline (Baseline): a rule compares "
                   "each time point with baseline, so every patient would be 'not "
                   "evaluable'. Schedule NRS-11 at Baseline first, or choose another score.")


@pytest.fixture
def nrs_follow_ups_only(study):
    """The NRS asked at the follow-ups only: a rule on it could never be evaluated."""
    TimePointInstrument.objects.filter(timepoint__study=study, timepoint__is_baseline=True,
                                       instrument__code="nrs11").delete()
    return study


def test_a_rule_on_a_score_not_asked_at_baseline_is_refused(nrs_follow_ups_only):
    assert refusal(rule(nrs_follow_ups_only, score="nrs", threshold=2)) == {
        "score": [NOT_AT_BASELINE]}
    with pytest.raises(ValidationError) as refused:
        ensure_rules(study=nrs_follow_ups_only, rules=[SimpleRule(
            code="nrs_new", score="nrs", direction=Direction.DECREASE,
            kind=ThresholdKind.POINTS, threshold=Fraction(2), description="")])
    assert refused.value.messages == [f"nrs_new: {NOT_AT_BASELINE}"]


def test_a_score_not_asked_at_some_follow_ups_is_fine(study):
    TimePointInstrument.objects.filter(timepoint__study=study, timepoint__code="m3",
                                       instrument__code="nrs11").delete()
    candidate = rule(study, score="nrs", threshold=2)
    candidate.full_clean()
    assert candidate.direction == "decrease"


def test_the_system_check_warns_of_a_rule_saved_before(nrs_follow_ups_only):
    rules = ResponderRule.objects.filter(study=nrs_follow_ups_only, score="nrs")
    assert rules.exists()  # the demo study's seeded NRS rules
    found = [m for m in check_study_set_up(databases=["default"])
             if m.id == "instruments.W004"]
    assert [m.msg for m in found] == [
        f"Study BMC-LBP, responder rule {code}: {NOT_AT_BASELINE}"
        for code in rules.order_by("order", "code").values_list("code", flat=True)]
    assert not any(m.is_serious() for m in found)
