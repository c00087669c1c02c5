"""FHIR R4 export: instruments as Questionnaires, responses as QuestionnaireResponses,
derived scores as Observations, in one Bundle per study (or per patient).

Plain dictionaries (no FHIR library at run time); the tests validate the output
against the FHIR R4 (4.0.1) models of ``fhir.resources``. Patients appear by
pseudonymous study code only.
"""

from __future__ import annotations

from fractions import Fraction

from django.conf import settings

from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.models import Instrument, Response, Score
from patients.models import Patient

SCORE_SYSTEM_PATH = "/fhir/CodeSystem/outcomes-scores"
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def _base() -> str:
    return settings.SITE_URL


def questionnaire(instrument: Instrument) -> dict:
    """Return the FHIR Questionnaire of one instrument version."""
    definition = INSTRUMENTS[instrument.code]
    items = []
    for item in definition.items:
        entry = {"linkId": item.code, "text": item.text, "required": True}
        if item.kind == "choice":
            entry["type"] = "choice"
            entry["answerOption"] = [
                {"valueCoding": {"code": str(o.value), "display": o.label}}
                for o in item.options
            ]
        else:
            entry["type"] = "integer"
            entry["extension"] = [
                {"url": "http://hl7.org/fhir/StructureDefinition/minValue",
                 "valueInteger": item.min_value},
                {"url": "http://hl7.org/fhir/StructureDefinition/maxValue",
                 "valueInteger": item.max_value},
            ]
        items.append(entry)
    return {
        "resourceType": "Questionnaire",
        "id": f"{instrument.code}-{instrument.version}".replace(".", "-").replace("_", "-"),
        "url": f"{_base()}/fhir/Questionnaire/{instrument.code}",
        "version": instrument.version,
        "name": instrument.code.upper().replace("_", ""),
        "title": instrument.title,
        "status": "active",
        "copyright": instrument.licence,
        "item": items,
    }


def _answer(item_kind: str, value: int) -> dict:
    if item_kind == "choice":
        return {"valueCoding": {"code": str(value)}}
    return {"valueInteger": value}


def study_bundle(study, *, patient_code: str | None = None) -> dict:
    """Return a collection Bundle: questionnaires, patients, responses and score observations."""
    base = _base()
    responses = (
        Response.objects.filter(visit__enrolment__study=study, state=Response.State.COMPLETED)
        .select_related("instrument", "visit__enrolment__patient", "visit__timepoint")
        .order_by("visit__enrolment__patient__code", "visit__target_date", "instrument__code")
    )
    patients = Patient.objects.filter(study=study).order_by("code")
    if patient_code:
        responses = responses.filter(visit__enrolment__patient__code=patient_code)
        patients = patients.filter(code=patient_code)
    scores: dict[int, list[Score]] = {}
    for score in Score.objects.filter(response__in=responses).order_by("code"):
        scores.setdefault(score.response_id, []).append(score)
    instruments = {r.instrument_id: r.instrument for r in responses}
    entries = []

    def add(resource: dict) -> None:
        url = f"{base}/fhir/{resource['resourceType']}/{resource['id']}"
        entries.append({"fullUrl": url, "resource": resource})

    for instrument in sorted(instruments.values(), key=lambda i: i.code):
        add(questionnaire(instrument))
    for patient in patients:
        add({"resourceType": "Patient", "id": _id(patient.code),
             "identifier": [{"system": f"{base}/studies/{study.code}", "value": patient.code}],
             "gender": GENDER[patient.sex]})
    for response in responses:
        definition = INSTRUMENTS[response.instrument.code]
        kinds = {item.code: item.kind for item in definition.items}
        patient_ref = {"reference": f"Patient/{_id(response.visit.enrolment.patient.code)}"}
        qr_id = f"qr-{response.pk}"
        add({
            "resourceType": "QuestionnaireResponse",
            "id": qr_id,
            "questionnaire": f"{base}/fhir/Questionnaire/{response.instrument.code}"
                             f"|{response.instrument.version}",
            "status": "completed",
            "subject": patient_ref,
            "authored": response.completed_at.isoformat(),
            "item": [
                {"linkId": code, "answer": [_answer(kinds[code], value)]}
                for code, value in response.answers.items() if value is not None
            ],
        })
        for score in scores.get(response.pk, []):
            add({
                "resourceType": "Observation",
                "id": f"score-{score.pk}",
                "status": "final",
                "code": {"coding": [{"system": f"{base}{SCORE_SYSTEM_PATH}",
                                     "code": score.code}], "text": score.code},
                "subject": patient_ref,
                "effectiveDateTime": response.completed_at.isoformat(),
                "valueQuantity": {"value": float(Fraction(score.exact)), "unit": "score"},
                "derivedFrom": [{"reference": f"QuestionnaireResponse/{qr_id}"}],
                "note": [{"text": f"{response.visit.timepoint.code}; scoring version "
                                  f"{score.scoring_version}"}],
            })
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _id(code: str) -> str:
    """FHIR ids allow letters, digits, '-' and '.'."""
    return "".join(c if c.isalnum() or c in "-." else "-" for c in code)[:64]
