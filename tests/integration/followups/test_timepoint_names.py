"""A time point's name as patients read it (``TimePoint.patient_label``): in reminders and
on the patient's pages, in the patient's language.

The study team's label ("3 months") is in the staff pages' language. A Spanish patient
reads "3 meses": the name the data manager gave for Spanish on the time point's admin
page, else the label translated where the catalogue (locale/es) can say it (Baseline, a
number of days, weeks, months or years), else the label as it is.
"""

from __future__ import annotations

import pytest

from outcomes.audit.models import AuditRecord
from outcomes.followups.labels import translated_label
from tests.admin_forms import admin_form_data, change_url
from tests.factories import staff


@pytest.mark.parametrize(("label", "spanish"), [
    ("Baseline", "Inicio del estudio"),
    ("1 month", "1 mes"),
    ("12 months", "12 meses"),
    ("6 Months", "6 meses"),
    ("1 week", "1 semana"),
    ("2 weeks", "2 semanas"),
    ("1 day", "1 día"),
    ("10 days", "10 días"),
    ("1 year", "1 año"),
    ("2 years", "2 años"),
    ("Post-op check", "Post-op check"),  # the study's own name: the data manager writes it
])
def test_a_label_the_catalogue_knows_is_translated_and_any_other_kept(label, spanish):
    assert translated_label(label, "es") == spanish


@pytest.mark.parametrize("label", ["Baseline", "1 month", "3 months", "Post-op check"])
def test_in_english_the_label_reads_as_the_team_wrote_it(label):
    assert translated_label(label, "en") == label


def test_a_name_given_for_a_language_comes_first(study):
    m3 = study.timepoints.get(code="m3")
    assert (m3.patient_label("es"), m3.patient_label("en")) == ("3 meses", "3 months")
    m3.patient_labels = {"es": "revisión de los 3 meses"}
    assert m3.patient_label("es") == "revisión de los 3 meses"
    assert m3.patient_label("en") == "3 months"


@pytest.fixture
def manager(study):
    user = staff("dm", "Data managers")
    user.is_staff = True
    user.save()
    return user


def test_the_time_point_page_has_a_name_for_patients_per_language(client, study, manager):
    client.force_login(manager)
    m3 = study.timepoints.get(code="m3")
    page = client.get(change_url(m3))
    form = page.context["adminform"].form
    assert form.fields["patient_label__es"].label == "Name for patients (Spanish)"
    html = page.content.decode()
    # Empty, it shows what patients read now.
    assert 'placeholder="3 meses"' in html and 'placeholder="3 months"' in html
    assert "Empty: “3 meses”, from the label." in html
    assert "Names for patients" in html


def test_a_name_saved_is_used_and_audited_and_emptied_it_is_the_translation_again(
        client, study, manager):
    client.force_login(manager)
    m3 = study.timepoints.get(code="m3")
    data = admin_form_data(client.get(change_url(m3)))
    data["patient_label__es"] = "  revisión de los 3 meses "
    reply = client.post(change_url(m3), data)
    assert reply.status_code == 302, reply.context["adminform"].form.errors
    m3.refresh_from_db()
    assert m3.patient_labels == {"es": "revisión de los 3 meses"}
    assert m3.patient_label("es") == "revisión de los 3 meses"
    # The box holds the name; its help still says what emptying it gives.
    html = client.get(change_url(m3)).content.decode()
    assert 'value="revisión de los 3 meses"' in html
    assert "Empty: “3 meses”, from the label." in html
    record = AuditRecord.objects.filter(object_type="followups.timepoint",
                                        object_id=str(m3.pk)).latest("id")
    assert record.changes["patient_labels"] == [{}, {"es": "revisión de los 3 meses"}]
    data["patient_label__es"] = ""
    assert client.post(change_url(m3), data).status_code == 302
    m3.refresh_from_db()
    assert m3.patient_labels == {} and m3.patient_label("es") == "3 meses"


def test_a_name_for_a_language_the_interface_does_not_speak_is_refused(study):
    from django.core.exceptions import ValidationError

    m3 = study.timepoints.get(code="m3")
    m3.patient_labels = {"fr": "3 mois"}
    with pytest.raises(ValidationError, match=r"by its code \(en, es\)"):
        m3.full_clean()
