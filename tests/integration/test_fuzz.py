"""Hostile input to every form: a clear 4xx or a validation message, never a 500,
and nothing stored half-way.

Field names come from the forms themselves; values are random text, numbers,
oversized strings, HTML and script, SQL fragments, unicode edge cases and wrong
types; keys go missing and unexpected ones appear. After each example the
database is checked for the invariants each form must keep. A view that raises
fails the test (the test client re-raises what would have been a 500).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.contrib.auth.models import User
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.followups.links import ensure_link
from outcomes.followups.models import TimePoint, Visit
from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.models import Response
from outcomes.instruments.scoring import validate_answers
from outcomes.survey.forms import InstrumentForm
from patients.forms import (
    ContactForm,
    EnrolForm,
    IndexDateForm,
    PatientFilterForm,
    StaffEntryForm,
    StatusForm,
)
from patients.models import Contact, Enrolment, Patient, Site

SCRIPT = "<script>alert('x')</script>"
HOSTILE = [
    SCRIPT, '"><img src=x onerror=alert(1)>', "'; DROP TABLE patients_patient; --",
    "1 OR 1=1", "' UNION SELECT password FROM auth_user --", "\x00", "a\x00b", "\u202e",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "🙂" * 50, "e\u0301" * 40, "٣", "１２", "Ⅻ", "-1", "1e309", "NaN", "inf",
    "-0", "99999999999999999999999", "0x10", "2026-02-30", "9999-12-31", "0001-01-01",
    "", " ", "x" * 10_000, "true", "null", "[]", "{}",
]
NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=NO_SURROGATES, max_size=300),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
)
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
OK = {200, 302, 400, 403, 404, 405, 429}


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


def _plausible(field) -> st.SearchStrategy:
    """Values of the field's own type, out to its extremes: these reach past the form."""
    if isinstance(field, forms.DateField):
        return st.one_of(st.sampled_from(["0001-01-01", "9999-12-31", "1969-12-31"]),
                         st.dates(min_value=dt.date(1, 1, 1),
                                  max_value=dt.date(9999, 12, 31)).map(str))
    if isinstance(field, (forms.IntegerField, forms.DecimalField, forms.FloatField)):
        return st.one_of(st.integers(-10**30, 10**30).map(str),
                         st.decimals(allow_nan=True, allow_infinity=True).map(str))
    if isinstance(field, forms.ModelChoiceField):
        return st.sampled_from([str(pk) for pk in field.queryset.values_list("pk", flat=True)]
                               or [""])
    if isinstance(field, forms.ChoiceField):
        return st.sampled_from([str(value) for value, _ in field.choices] or [""])
    return st.text(alphabet=NO_SURROGATES, max_size=60)


def payloads(form_fields):
    """A value for every field (often plausible, sometimes hostile), some keys missing,
    strangers added; ``form_fields`` is a form's ``fields`` or a list of names."""
    if not isinstance(form_fields, dict):
        form_fields = {name: forms.CharField() for name in form_fields}
    per_field = {name: st.one_of(_plausible(field), _plausible(field), VALUES,
                                 st.lists(VALUES, min_size=2, max_size=3), st.none())
                 for name, field in form_fields.items()}
    strangers = st.dictionaries(st.sampled_from(["action", "id", "__proto__", "is_staff"]),
                                VALUES, max_size=2)
    return st.tuples(st.fixed_dictionaries(per_field), strangers).map(
        lambda pair: {k: v for k, v in {**pair[0], **pair[1]}.items() if v is not None})


def staff_client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def assert_no_half_enrolments():
    timepoints = TimePoint.objects.count()
    assert Patient.objects.annotate(n=Count("enrolments")).exclude(n=1).count() == 0
    assert Enrolment.objects.annotate(n=Count("visits")).exclude(n=timepoints).count() == 0


def assert_responses_consistent():
    for response in Response.objects.select_related("instrument"):
        validate_answers(response.instrument.code, response.answers)  # raises if stored bad
    live = (Response.objects.filter(state__in=("in_progress", "completed"))
            .values("visit", "instrument").annotate(n=Count("id")).filter(n__gt=1))
    assert not live.exists()
    for visit in Visit.objects.filter(status="completed").prefetch_related("responses"):
        done = {r.instrument_id for r in visit.responses.all() if r.state == "completed"}
        wanted = set(visit.timepoint.items.values_list("instrument_id", flat=True))
        assert wanted <= done, f"visit {visit.pk} completed without all its instruments"


def test_the_enrolment_form(demo):
    client = staff_client("coordinator")
    url = reverse("patients:enrol", kwargs={"code": demo.code})
    fields = EnrolForm(study=demo, sites=Site.objects.all()).fields

    @FUZZ
    @given(payloads(fields))
    def run(data):
        assert client.post(url, data).status_code in OK
        assert_no_half_enrolments()

    run()
    assert not Patient.objects.filter(code__contains="<").exists()


def test_the_status_and_index_date_forms(demo):
    client = staff_client("coordinator")
    kwargs = {"code": demo.code, "patient_code": "DEMO-0002"}
    status_url = reverse("patients:status", kwargs=kwargs)
    index_url = reverse("patients:index-date", kwargs=kwargs)
    fields = {**StatusForm().fields, **IndexDateForm().fields}

    @FUZZ
    @given(payloads(fields), st.booleans())
    def run(data, status):
        reply = client.post(status_url if status else index_url, data)
        assert reply.status_code in OK
        enrolment = Enrolment.objects.get(patient__code="DEMO-0002")
        assert enrolment.status in Enrolment.Status.values
        assert enrolment.visits.count() == TimePoint.objects.count()

    run()
    # Script in a reason is stored as text and shown escaped (a patient untouched above).
    fresh = {"code": demo.code, "patient_code": "DEMO-0003"}
    client.post(reverse("patients:status", kwargs=fresh), {"status": "paused", "reason": SCRIPT})
    page = client.get(reverse("patients:patient", kwargs=fresh)).content.decode()
    assert SCRIPT not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_the_patient_lists_search_and_filters(demo):
    url = reverse("patients:patient-list", kwargs={"code": demo.code})
    fields = {**PatientFilterForm(study=demo, sites=Site.objects.all(),
                                  search_contact=True).fields, "page": forms.CharField()}
    clients = [staff_client("coordinator"), staff_client("clinician")]

    @FUZZ
    @given(payloads(fields), st.booleans())
    def run(data, coordinator):
        reply = clients[0 if coordinator else 1].get(url, data)
        assert reply.status_code == 200
        assert SCRIPT not in reply.content.decode()

    run()


def test_the_sign_off_correction_and_void_forms(demo):
    clinician = staff_client("clinician")
    manager = staff_client("datamanager")
    outcomes = reverse("patients:outcomes", kwargs={"code": demo.code,
                                                    "patient_code": "DEMO-0001"})
    nrs = Response.objects.filter(instrument__code="nrs11", state="completed").first()
    odi = Response.objects.filter(instrument__code="odi", state="completed").first()
    odi_fields = InstrumentForm(definition=INSTRUMENTS["odi"]).fields

    @FUZZ
    @given(payloads(["note"]), payloads({**odi_fields, "reason": forms.CharField()}),
           payloads(["reason", "pain"]))
    def run(note, correction, void):
        assert clinician.post(outcomes, note).status_code in OK
        live = Response.objects.get(visit=odi.visit, instrument=odi.instrument,
                                    state="completed")
        assert manager.post(reverse("response-correct", kwargs={"pk": live.pk}),
                            correction).status_code in OK
        target = Response.objects.filter(visit=nrs.visit, instrument=nrs.instrument,
                                         state="completed").first()
        if target is not None:
            assert manager.post(reverse("response-void", kwargs={"pk": target.pk}),
                                void).status_code in OK
        assert_responses_consistent()

    run()


def test_every_page_of_the_questionnaire(demo):
    visit = (Visit.objects.filter(enrolment__patient__code="DEMO-0001", status="open")
             .order_by("target_date").first())
    token = ensure_link(visit=visit)
    steps = list(visit.timepoint.items.select_related("instrument").order_by("order"))
    client = Client()
    client.get(reverse("survey:start", kwargs={"token": token}))

    @FUZZ
    @given(st.integers(min_value=0, max_value=len(steps) + 1), st.data())
    def run(number, data):
        if 1 <= number <= len(steps):
            definition = INSTRUMENTS[steps[number - 1].instrument.code]
            fields = InstrumentForm(definition=definition).fields
        else:
            fields = ["pain", "odi1"]
        payload = data.draw(payloads(fields))
        if data.draw(st.booleans()):
            payload["action"] = data.draw(st.sampled_from(["next", "save", "back", SCRIPT]))
        reply = client.post(reverse("survey:step", kwargs={"token": token, "number": number}),
                            payload)
        assert reply.status_code in OK | {503}
        assert SCRIPT.encode() not in reply.content
        assert_responses_consistent()

    run()


def test_the_paper_entry_form(demo):
    client = staff_client("coordinator")
    enrolment = Enrolment.objects.get(patient__code="DEMO-0002")
    visits = list(enrolment.visits.exclude(status__in=["completed", "not_applicable"])
                  .select_related("timepoint"))
    fields = dict(StaffEntryForm(today=dt.date(2026, 6, 1), enrolled=enrolment.enrolled_date)
                  .fields)
    for item in visits[0].timepoint.items.select_related("instrument"):
        code = item.instrument.code
        fields |= {f"{code}-{name}": field for name, field in
                   InstrumentForm(definition=INSTRUMENTS[code]).fields.items()}

    @FUZZ
    @given(st.sampled_from(visits), payloads(fields))
    def run(visit, entry):
        url = reverse("patients:visit-entry", kwargs={
            "code": demo.code, "patient_code": "DEMO-0002", "visit_id": visit.pk})
        reply = client.post(url, entry)
        assert reply.status_code in OK
        assert SCRIPT.encode() not in reply.content
        assert_responses_consistent()

    run()


def test_the_contact_form(demo):
    client = staff_client("coordinator")
    patient = Patient.objects.get(code="DEMO-0002")
    url = reverse("patients:contact", kwargs={"code": demo.code, "patient_code": patient.code})

    @FUZZ
    @given(payloads(ContactForm().fields))
    def run(data):
        reply = client.post(url, data)
        assert reply.status_code in OK
        assert SCRIPT.encode() not in reply.content
        Contact.objects.get(patient=patient).full_clean()  # what is stored still holds

    run()


def test_the_login_and_second_factor_forms(demo):
    login = Client()
    factor = staff_client("clinician")

    @FUZZ
    @given(payloads(["username", "password"]), payloads(["token", "next"]))
    def run(credentials, code):
        assert login.post(reverse("login"), credentials).status_code in OK
        reply = factor.post(reverse("two-factor"), code)
        assert reply.status_code in OK
        if reply.status_code == 302:
            assert reply["Location"].startswith("/")  # never off-site

    run()
    assert "_auth_user_id" not in login.session


@pytest.mark.parametrize("name", ["enrol", "status", "index-date", "outcomes", "correct",
                                  "void", "step", "login", "visit-entry", "contact"])
def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(demo, name):
    from outcomes.audit.models import AuditRecord

    visit = Visit.objects.filter(enrolment__patient__code="DEMO-0001", status="open").first()
    response = Response.objects.filter(state="completed").first()
    patient = {"code": demo.code, "patient_code": "DEMO-0002"}
    url = {
        "enrol": reverse("patients:enrol", kwargs={"code": demo.code}),
        "status": reverse("patients:status", kwargs=patient),
        "index-date": reverse("patients:index-date", kwargs=patient),
        "outcomes": reverse("patients:outcomes", kwargs=patient),
        "correct": reverse("response-correct", kwargs={"pk": response.pk}),
        "void": reverse("response-void", kwargs={"pk": response.pk}),
        "step": reverse("survey:step", kwargs={"token": ensure_link(visit=visit),
                                               "number": 1}),
        "login": reverse("login"),
        "visit-entry": reverse("patients:visit-entry", kwargs={**patient, "visit_id": (
            Visit.objects.filter(enrolment__patient__code="DEMO-0002", status="open")
            .first().pk)}),
        "contact": reverse("patients:contact", kwargs=patient),
    }[name]
    client = Client(enforce_csrf_checks=True)
    username = {"outcomes": "clinician", "correct": "datamanager",
                "void": "datamanager"}.get(name, "coordinator")
    if name not in ("step", "login"):
        client.force_login(User.objects.get(username=username))
    before = (AuditRecord.objects.count(), Response.objects.count(), Patient.objects.count())
    reply = client.post(url, {"status": "withdrawn", "reason": "csrf", "code": "X-1",
                              "pain": 3, "note": "n", "username": "coordinator",
                              "password": "demo", "index_date": "2026-06-03"})
    assert reply.status_code == 403
    assert (AuditRecord.objects.count(), Response.objects.count(),
            Patient.objects.count()) == before
