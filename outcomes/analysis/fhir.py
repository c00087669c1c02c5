"""FHIR R4 export: one collection Bundle per study (or per patient), de-identified.

What is in it, and why each is where FHIR R4 (4.0.1) puts it:

- **ResearchStudy**, with the study's arms (``arm.name`` the arm's code).
- **Patient** by pseudonymous study code and gender only (no name, birth date, contact).
- **ResearchSubject** per enrolment: the study, the patient, ``assignedArm`` (the arm's
  code, as R4 ties a subject to ``ResearchStudy.arm.name``) and the status.
- **Encounter** per visit with data: the time point is the encounter's ``type`` (coded
  from the study's schedule), because R4's ``QuestionnaireResponse.encounter`` is "the
  Encounter during which this questionnaire response was created", and a protocol visit
  is one. ``basedOn`` was the other candidate, but it names an order or plan the response
  fulfils (CarePlan, ServiceRequest), which this platform does not keep; an extension of
  our own would say what a standard element already says. Each response and score
  points at its encounter, and at the study (R4's ``workflow-researchStudy`` extension).
- **Questionnaire** per instrument version as the study asks it: an item the patient may
  leave blank (the ODI's sections, up to the study's allowance) is not ``required``
  (``survey.completeness.skippable_items``, the rule the form itself follows); answer
  options are codings with a ``system``. The canonical URL is stable, under
  ``FHIR_BASE`` (not ``SITE_URL``, which changes with each deployment): the same study
  and instrument version always have the same ``url|version``.
- **QuestionnaireResponse** per completed response, with how it was answered
  (``questionnaireresponse-completionMode``: web = ELECTRONIC, paper = WRITTEN,
  telephone = VERBAL). A legacy form (import) with a blank item the study's form would
  have required is ``stopped`` (answers kept), not ``completed``, which would break its
  Questionnaire.
- **Observation** per reported score (the definitions' ``ScoreSpec``s): category
  ``survey``, the score coded in our code system (and LOINC where the definition holds a
  checked code), the value in UCUM at full precision, the scoring version as a coded
  ``method``, ``derivedFrom`` its response.

Dates are study days: every date of a patient is ``EPOCH`` plus the days from their
index date (the index date itself is 2000-01-01), at day precision, so intervals
survive and no calendar date leaves. Plain dictionaries (no FHIR library at run time);
the tests validate the output with ``fhir.resources`` (R4 models) and with
``@medplum/core`` (structure and FHIRPath invariants) under Node.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

from outcomes.instruments.definitions.fhir import (
    FHIR_BASE,
    computable_name,
    fhir_id,
    option_system,
)
from outcomes.instruments.definitions.fhir import questionnaire as definition_questionnaire
from outcomes.instruments.models import Instrument, Response, Score
from outcomes.instruments.stored import WITHOUT_DEFINITION, definition_of
from outcomes.survey.completeness import skippable_items
from patients.models import Enrolment

EPOCH = dt.date(2000, 1, 1)
"""The date that stands for each patient's index date (study day 0)."""
SCORES_SYSTEM = f"{FHIR_BASE}/CodeSystem/scores"
SCORING_SYSTEM = f"{FHIR_BASE}/CodeSystem/scoring"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
UNIT_NAMES = {"%": "%", "{score}": "score", "{T-score}": "T-score"}
MODES = {"web": "ELECTRONIC", "paper": "WRITTEN", "phone": "VERBAL"}
MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
ENCOUNTER_CLASS = {"web": "VR", "phone": "VR"}  # otherwise AMB (ambulatory)
SUBJECT_STATUS = {"active": "on-study", "paused": "on-study", "withdrawn": "withdrawn",
                  "completed": "off-study"}
RESEARCH_STUDY_EXT = "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"
COMPLETION_MODE_EXT = "http://hl7.org/fhir/StructureDefinition/questionnaireresponse-completionMode"
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


_id = fhir_id


# Codes (studies, instruments, items) are letters, digits, '-', '_' and '.' (the code
# validator): safe in a URL as they are.

def questionnaire_url(study, code: str) -> str:
    return f"{FHIR_BASE}/Questionnaire/{study.code}-{code}"


def timepoint_system(study) -> str:
    return f"{FHIR_BASE}/CodeSystem/{study.code}-timepoints"


def required_items(study, definition) -> set[str]:
    """The items the study's form requires: all but those the patient may leave blank."""
    skippable = skippable_items(definition, study.max_missing)
    return {item.code for item in definition.items if item.code not in skippable}


def questionnaire(study, instrument: Instrument) -> dict:
    """Return the FHIR Questionnaire of one instrument version as ``study`` asks it."""
    definition = definition_of(instrument)
    return definition_questionnaire(
        definition, resource_id=_id(f"{study.code}-{instrument.code}-{instrument.version}"),
        url=questionnaire_url(study, instrument.code),
        name=computable_name(f"{instrument.code}_{study.code}"),
        title=f"{definition.title} ({study.code})",
        required=required_items(study, definition))


def _date(days: int) -> str:
    return (EPOCH + dt.timedelta(days=days)).isoformat()


def _answer(item, code: str, version: str, value: int) -> dict:
    if item.kind == "choice":
        label = next((o.label for o in item.options if o.value == value), None)
        coding = {"system": option_system(code, item.code), "version": version,
                  "code": str(value)}
        if label:
            coding["display"] = label
        return {"valueCoding": coding}
    return {"valueInteger": value}


def _score_code(spec) -> dict:
    coding = [{"system": SCORES_SYSTEM, "code": spec.key, "display": spec.label}]
    if spec.loinc:
        loinc = {"system": LOINC, "code": spec.loinc}
        if spec.loinc_display:
            loinc["display"] = spec.loinc_display
        coding.append(loinc)
    return {"coding": coding, "text": spec.label}


def _quantity(spec, exact: str) -> dict:
    return {"value": float(Fraction(exact)), "unit": UNIT_NAMES.get(spec.unit, spec.unit),
            "system": UCUM, "code": spec.unit}


def study_bundle(study, *, patient_code: str | None = None, enrolments=None) -> dict:
    """Return a collection Bundle of the study (or one patient): study, arms, patients,
    subjects, visits, questionnaires, responses and score observations; de-identified."""
    zone = ZoneInfo(study.time_zone)
    enrolments = (enrolments if enrolments is not None
                  else Enrolment.objects.filter(study=study))
    enrolments = enrolments.filter(study=study).select_related("patient", "arm")
    if patient_code:
        enrolments = enrolments.filter(patient__code=patient_code)
    enrolments = list(enrolments.order_by("patient__code"))
    index_of = {e.pk: e.index_date for e in enrolments}
    responses = list(
        Response.objects.filter(visit__enrolment__in=[e.pk for e in enrolments],
                                state=Response.State.COMPLETED)
        .select_related("instrument", "visit__timepoint", "visit__enrolment__patient")
        .defer(*WITHOUT_DEFINITION)
        .order_by("visit__enrolment__patient__code", "visit__timepoint__target_day",
                  "instrument__code")
    )
    scores: dict[int, dict[str, Score]] = {}
    for score in Score.objects.filter(response__in=[r.pk for r in responses]):
        scores.setdefault(score.response_id, {})[score.code] = score
    study_ref = {"reference": f"ResearchStudy/{_id(study.code)}"}
    in_study = {"url": RESEARCH_STUDY_EXT, "valueReference": study_ref}
    entries = []

    def add(resource: dict) -> None:
        url = f"{FHIR_BASE}/{resource['resourceType']}/{resource['id']}"
        entries.append({"fullUrl": url, "resource": resource})

    def day_of(at: dt.datetime, enrolment_id: int) -> int:
        return (at.astimezone(zone).date() - index_of[enrolment_id]).days

    add({
        "resourceType": "ResearchStudy", "id": _id(study.code),
        "identifier": [{"system": f"{FHIR_BASE}/studies", "value": study.code}],
        "title": study.title, "status": "active",
        "arm": [{"name": arm.code, "description": arm.name}
                for arm in study.arms.order_by("order", "code")],
    })
    instruments = {r.instrument_id: r.instrument for r in responses}
    for instrument in sorted(instruments.values(), key=lambda i: (i.code, i.version)):
        add(questionnaire(study, instrument))
    for enrolment in enrolments:
        patient_id = _id(enrolment.patient.code)
        add({"resourceType": "Patient", "id": patient_id,
             "identifier": [{"system": f"{FHIR_BASE}/studies/{study.code}/patients",
                             "value": enrolment.patient.code}],
             "gender": GENDER[enrolment.patient.sex]})
        add({"resourceType": "ResearchSubject", "id": f"subject-{enrolment.pk}",
             "status": SUBJECT_STATUS.get(enrolment.status, "on-study"),
             "period": {"start": _date((enrolment.enrolled_date - enrolment.index_date).days)},
             "study": study_ref, "individual": {"reference": f"Patient/{patient_id}"},
             "assignedArm": enrolment.arm.code})
    visits_done: set[int] = set()
    for response in responses:
        visit = response.visit
        enrolment_id = visit.enrolment_id
        patient_ref = {"reference": f"Patient/{_id(visit.enrolment.patient.code)}"}
        encounter_ref = {"reference": f"Encounter/visit-{visit.pk}"}
        day = _date(day_of(response.completed_at, enrolment_id))
        if visit.pk not in visits_done:
            visits_done.add(visit.pk)
            add({
                "resourceType": "Encounter", "id": f"visit-{visit.pk}",
                "extension": [in_study], "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                          "code": ENCOUNTER_CLASS.get(response.source, "AMB")},
                "type": [{"coding": [{"system": timepoint_system(study),
                                      "code": visit.timepoint.code,
                                      "display": visit.timepoint.label}],
                          "text": visit.timepoint.label}],
                "subject": patient_ref,
                "period": {"start": _date(day_of(visit.completed_at or response.completed_at,
                                                 enrolment_id))},
            })
        definition = definition_of(response.instrument)
        required = required_items(study, definition)
        answered = {code for code, value in response.answers.items() if value is not None}
        qr_id = f"qr-{response.pk}"
        extensions = [in_study]
        if response.source in MODES:
            extensions.append({"url": COMPLETION_MODE_EXT, "valueCodeableConcept": {
                "coding": [{"system": MODE_SYSTEM, "code": MODES[response.source]}]}})
        add({
            "resourceType": "QuestionnaireResponse", "id": qr_id, "extension": extensions,
            "questionnaire": f"{questionnaire_url(study, response.instrument.code)}"
                             f"|{response.instrument.version}",
            "status": "completed" if required <= answered else "stopped",
            "subject": patient_ref, "encounter": encounter_ref, "authored": day,
            "item": [
                {"linkId": item.code,
                 "answer": [_answer(item, response.instrument.code,
                                    response.instrument.version,
                                    response.answers[item.code])]}
                for item in definition.items if item.code in answered
            ],
        })
        stored = scores.get(response.pk, {})
        for spec in definition.scores:
            score = stored.get(spec.key)
            if score is None:
                continue  # not scorable: no Observation (the response still says what it holds)
            add({
                "resourceType": "Observation", "id": f"score-{score.pk}",
                "extension": [in_study], "status": "final",
                "category": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "survey", "display": "Survey"}]}],
                "code": _score_code(spec), "subject": patient_ref, "encounter": encounter_ref,
                "effectiveDateTime": day,
                "valueQuantity": _quantity(spec, score.exact),
                "method": {"coding": [{
                    "system": SCORING_SYSTEM,
                    "code": f"{response.instrument.code}-v{score.scoring_version}",
                    "version": score.scoring_version,
                    "display": f"{response.instrument.short_title} scoring, version "
                               f"{score.scoring_version}"}]},
                "derivedFrom": [{"reference": f"QuestionnaireResponse/{qr_id}"}],
            })
    return {
        "resourceType": "Bundle", "type": "collection",
        "meta": {"security": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "PSEUDED", "display": "pseudonymized"}]},
        "entry": entries,
    }
