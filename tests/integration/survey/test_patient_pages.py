"""The questionnaire as a patient meets it: first page, resume, errors, skipping, contact."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from outcomes.followups.links import ensure_link, revoke_link
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response

from .conftest import EQ5D, NRS, ODI_10, PAGES, PROMIS

PHONE_LINK = 'href="tel:+15550100"'  # the demo study's contact phone, +1 555 0100
MAIL_LINK = 'href="mailto:research@clinic.example"'


def start_url(token):
    return reverse("survey:start", kwargs={"token": token})


def step_url(token, number):
    return reverse("survey:step", kwargs={"token": token, "number": number})


def done_url(token):
    return reverse("survey:done", kwargs={"token": token})


def post(client, token, number, answers, action="next", **extra):
    data = {k: "" if v is None else str(v) for k, v in answers.items()}
    data["action"] = action
    return client.post(step_url(token, number), data, **extra)


def summary_links(html: str) -> list[tuple[str, str]]:
    """The (href, text) of every link in the error summary."""
    start = html.index('id="error-summary"')
    summary = html[start:html.index("</div>", start)]
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', summary)


def fill_all(client, token):
    for number, answers in enumerate(PAGES, start=1):
        reply = post(client, token, number, answers)
        assert reply.status_code == 302, reply.content.decode()[:3000]
    return reply


# Resume ------------------------------------------------------------------------------

def test_coming_back_after_saving_half_a_page_lands_on_that_page(client, visit, token):
    post(client, token, 1, ODI_10)
    post(client, token, 2, NRS)
    post(client, token, 3, dict(EQ5D, mobility=None, self_care=None), action="save")
    resumed = type(client)().get(start_url(token))
    assert resumed.status_code == 302
    assert resumed.url == step_url(token, 3)


def test_a_first_page_with_too_many_blank_sections_is_where_the_patient_resumes(
    client, visit, token
):
    post(client, token, 1, dict(ODI_10, walking=None, sex_life=None), action="save")
    post(client, token, 2, NRS, action="save")
    assert client.get(start_url(token)).url == step_url(token, 1)


def test_one_blank_odi_section_is_allowed_so_the_patient_resumes_on_the_next_page(
    client, visit, token
):
    post(client, token, 1, dict(ODI_10, sex_life=None), action="save")
    assert client.get(start_url(token)).url == step_url(token, 2)


def test_with_every_page_complete_the_patient_resumes_on_the_last_one_to_submit(
    client, visit, token
):
    for number, answers in enumerate(PAGES, start=1):
        post(client, token, number, answers, action="save")
    assert client.get(start_url(token)).url == step_url(token, 4)


# The first page ----------------------------------------------------------------------

def test_the_first_page_names_the_visit_the_questionnaires_and_the_time_they_take(
    client, visit, token
):
    reply = client.get(start_url(token))
    assert reply.status_code == 200
    html = reply.content.decode()
    assert "<h1 class=\"h3\">Your questionnaires: Baseline</h1>" in html
    assert "There are 4 questionnaires to answer" in html
    # ODI 10 + NRS-11 1 + EQ-5D-3L 6 + PROMIS Global-10 10 = 27 questions (SPEC 3.1-3.4);
    # at about 10 s each, 270 s: 4.5 minutes, rounded up to 5.
    assert "It takes about 5 minutes (27 questions)." in html
    assert f'<a class="btn btn-primary btn-lg survey-start" href="{step_url(token, 1)}">Start</a>' \
        in html


def test_the_first_page_in_spanish(client, visit, token):
    html = client.get(start_url(token), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Sus cuestionarios: Inicio del estudio" in html  # the time point in Spanish too
    assert "Tiene que responder 4 cuestionarios" in html
    assert "Se tarda unos 5 minutos (27 preguntas)." in html
    assert ">Empezar</a>" in html
    assert "solo están disponibles en inglés" in html


def test_the_first_page_costs_a_fixed_number_of_queries(client, visit, token,
                                                        django_assert_max_num_queries):
    with django_assert_max_num_queries(3):  # the visit, its responses, its instruments
        assert client.get(start_url(token)).status_code == 200


# Errors ------------------------------------------------------------------------------

def test_a_missing_answer_is_named_at_the_field_and_in_a_summary_linking_to_it(
    client, visit, token
):
    post(client, token, 1, ODI_10)
    post(client, token, 2, NRS)
    html = post(client, token, 3, dict(EQ5D, mobility=None)).content.decode()
    assert summary_links(html) == [("#q-mobility", "EQ-5D-3L: Mobility — choose an answer")]
    assert 'id="q-mobility"' in html
    assert '<fieldset aria-describedby="id_mobility-error">' in html
    assert '<p class="survey-error" id="id_mobility-error" lang="en">Choose an answer.</p>' in html
    assert html.count('aria-invalid="true"') == 3  # the three answers of Mobility
    assert 'tabindex="-1" id="error-summary"' in html  # survey.js moves focus there
    assert "unanswered" not in html and "dimensions are needed" not in html


def test_a_blank_pain_rating_is_shown_at_the_scale(client, visit, token):
    html = post(client, token, 2, {}).content.decode()
    assert summary_links(html) == [(
        "#q-pain", "NRS-11: Please rate your back pain by choosing the number that best "
        "describes your pain on… — choose a number from 0 to 10")]
    assert '<fieldset aria-describedby="id_pain-hint id_pain-error">' in html
    assert ('<p class="survey-error" id="id_pain-error" lang="en">'
            'Choose a number from 0 to 10.</p>') in html
    assert html.count('aria-invalid="true"') == 11


def test_a_blank_promis_pain_rating_is_shown_at_its_scale(client, visit, token):
    for number, answers in enumerate(PAGES[:3], start=1):
        post(client, token, number, answers)
    html = post(client, token, 4, dict(PROMIS, global07r=None)).content.decode()
    assert summary_links(html) == [(
        "#q-global07r", "PROMIS GH: In the past 7 days, how would you rate your pain on "
        "average? — choose a number from 0 to 10")]
    assert '<p class="survey-error" id="id_global07r-error" lang="en">' in html
    assert Visit.objects.get(pk=visit.pk).status != Visit.Status.COMPLETED


def test_too_many_blank_odi_sections_mark_each_blank_section(client, visit, token):
    html = post(client, token, 1, dict(ODI_10, walking=None, sex_life=None)).content.decode()
    assert [href for href, _ in summary_links(html)] == ["#q-walking", "#q-sex_life"]
    for code in ("walking", "sex_life"):
        assert f'<fieldset aria-describedby="id_{code}-error">' in html
    # Two sections, six statements and the skip answer each.
    assert html.count('aria-invalid="true"') == 14


def test_a_submit_with_an_earlier_page_incomplete_names_that_page_and_links_to_the_question(
    client, visit, token
):
    post(client, token, 1, ODI_10)
    post(client, token, 2, NRS)
    post(client, token, 3, dict(EQ5D, mobility=None), action="save")
    reply = post(client, token, 4, PROMIS)
    assert reply.status_code == 400
    html = reply.content.decode()
    assert summary_links(html) == [(
        f"{step_url(token, 3)}?check=1#q-mobility",
        "Questionnaire 3 of 4, EQ-5D-3L: Mobility — choose an answer")]
    assert "Some answers are still missing" not in html and "unanswered" not in html
    # The last page's answers are kept; nothing is submitted.
    assert Response.objects.get(visit=visit, instrument__code="promis_gh").answers == PROMIS
    assert Visit.objects.get(pk=visit.pk).status != Visit.Status.COMPLETED
    # The link opens the page with the question marked.
    target = client.get(f"{step_url(token, 3)}?check=1").content.decode()
    assert 'id="q-mobility"' in target
    assert summary_links(target) == [("#q-mobility", "EQ-5D-3L: Mobility — choose an answer")]
    assert '<p class="survey-error" id="id_mobility-error" lang="en">' in target
    assert 'name="vas" value="65"' in target


def test_a_page_never_opened_is_named_at_the_submit(client, visit, token):
    post(client, token, 1, ODI_10)
    post(client, token, 3, EQ5D)
    html = post(client, token, 4, PROMIS).content.decode()
    assert summary_links(html) == [(
        step_url(token, 2), "Questionnaire 2 of 4, Pain intensity (NRS-11): not answered yet")]


def test_error_messages_in_spanish(client, visit, token):
    html = post(client, token, 2, {}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "NRS-11: Please rate your back pain" in html  # instrument wording: English only
    assert "— elija un número del 0 al 10</a>" in html
    assert "Elija un número del 0 al 10." in html
    assert "Revise sus respuestas" in html


# Clearing an answer ------------------------------------------------------------------

def test_an_optional_answer_can_be_cleared_with_skip_this_question(client, visit, token):
    page = client.get(step_url(token, 1)).content.decode()
    assert ('<label class="survey-option survey-option-skip" for="id_sex_life_skip">'
            '<input type="radio" class="form-check-input" name="sex_life" value="" '
            'id="id_sex_life_skip"><span lang="en">Skip this question</span></label>') in page
    post(client, token, 1, ODI_10, action="save")
    assert Response.objects.get(visit=visit, instrument__code="odi").answers["sex_life"] == 0
    reply = post(client, token, 1, dict(ODI_10, sex_life=None))  # the skip answer: empty
    assert reply.status_code == 302 and reply.url == step_url(token, 2)
    assert Response.objects.get(visit=visit, instrument__code="odi").answers["sex_life"] is None


def test_a_chosen_skip_stays_chosen_when_the_page_is_shown_again(client, visit, token):
    html = post(client, token, 1, dict(ODI_10, sex_life=None, walking=None)).content.decode()
    assert 'value="" aria-invalid="true" id="id_sex_life_skip" checked>' in html


def test_required_questions_offer_no_skip(client, visit, token):
    for number in (2, 3, 4):
        assert "Skip this question" not in client.get(step_url(token, number)).content.decode()
    visit.enrolment.study.max_missing = {"odi": 0}
    visit.enrolment.study.save()
    assert "Skip this question" not in client.get(step_url(token, 1)).content.decode()


def test_skip_this_question_in_spanish(client, visit, token):
    page = client.get(step_url(token, 1), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<span lang="es">Omitir esta pregunta</span>' in page


# The EQ VAS --------------------------------------------------------------------------

def test_the_eq_vas_is_a_vertical_0_to_100_scale_with_no_value_until_moved(
    client, visit, token
):
    html = client.get(step_url(token, 3)).content.decode()
    slider = re.search(r'<input type="range"[^>]*>', html).group(0)
    assert 'min="0" max="100" step="1" aria-orientation="vertical"' in slider
    assert "name=" not in slider and "value=" not in slider  # never a default of 50
    assert 'aria-labelledby="id_vas-legend"' in slider and 'id="id_vas-legend"' in html
    number = re.search(r'<input type="number"[^>]*>', html).group(0)
    assert 'name="vas"' in number and "value=" not in number
    assert 'min="0" max="100"' in number
    # Without JavaScript the scale stays hidden and the number box works alone.
    assert '<div class="survey-vas-scale" data-vas-scale hidden>' in html
    ticks = re.search(r'<ol class="survey-vas-ticks" aria-hidden="true">(.*?)</ol>', html)
    assert re.findall(r"<li>(\d+)</li>", ticks.group(1)) == [str(n) for n in range(100, -1, -10)]
    # The instrument's anchors: best health at the top, worst at the bottom.
    assert html.index("Best imaginable health</p>") < html.index("<ol class=\"survey-vas-ticks")
    assert html.index("Worst imaginable health</p>") > html.index("</ol>")
    assert '<script src="/static/js/survey.js" defer></script>' in html


def test_a_saved_eq_vas_shows_on_the_scale_and_in_the_box(client, visit, token):
    post(client, token, 3, EQ5D, action="save")
    html = client.get(step_url(token, 3)).content.decode()
    assert re.search(r'<input type="range"[^>]* value="65"', html)
    assert 'name="vas" value="65"' in html


# Contact, thanks, links not active, paused ---------------------------------------------

def test_every_page_that_shows_the_contact_links_the_phone_and_the_email(client, visit, token):
    pages = {
        "first": client.get(start_url(token)),
        "questionnaire": client.get(step_url(token, 1)),
        "saved": post(client, token, 1, ODI_10, action="save"),
    }
    fill_all(client, token)
    pages["thank you"] = client.get(done_url(token))
    enrolment = visit.enrolment
    enrolment.status = "paused"
    enrolment.save()
    pages["paused"] = client.get(start_url(token))
    enrolment.status, enrolment.status_reason = "withdrawn", "moved away"
    enrolment.save()
    pages["not active"] = client.get(start_url(token))
    for name, reply in pages.items():
        html = reply.content.decode()
        assert PHONE_LINK in html and MAIL_LINK in html, name


def test_the_thank_you_page_says_when_the_next_questionnaires_come(client, visit, token):
    fill_all(client, token)
    # Index date 1 June 2026: the 1-month visit's target is day 30 (1 July), its window
    # opens 7 days before (SPEC 5), on 24 June 2026.
    html = client.get(done_url(token)).content.decode()
    assert "Your next questionnaires: around 24 June 2026; we will send you a link." in html
    spanish = client.get(done_url(token), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert ("Sus próximos cuestionarios: hacia el 24 de junio de 2026; le enviaremos un enlace."
            in spanish)


def test_the_thank_you_page_after_the_last_visit_says_it_was_the_last(client, study):
    from tests.factories import enrol

    index = dt.date(2026, 6, 1)
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        enrolment = enrol(study, "P-400", index_date=index, today=index)
    with time_machine.travel(dt.datetime(2027, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        m12 = enrolment.visits.get(timepoint__code="m12")
        Visit.objects.filter(pk=m12.pk).update(status="open")
        token = ensure_link(visit=m12)
        fill_all(client, token)
        html = client.get(done_url(token)).content.decode()
    assert "This was the last questionnaire of the study." in html
    assert "Your next questionnaires" not in html


def test_the_thank_you_page_costs_a_fixed_number_of_queries(client, visit, token,
                                                            django_assert_max_num_queries):
    fill_all(client, token)
    with django_assert_max_num_queries(3):  # the visit, the next visit, its answer alerts
        assert client.get(done_url(token)).status_code == 200


@pytest.fixture
def no_clinic_settings(settings):
    settings.CLINIC_NAME = settings.CLINIC_EMAIL = settings.CLINIC_PHONE = ""


def test_a_withdrawn_patients_link_names_the_study_contact_when_the_clinic_settings_are_empty(
    client, visit, token, no_clinic_settings
):
    enrolment = visit.enrolment
    enrolment.status, enrolment.status_reason = "withdrawn", "moved away"
    enrolment.save()
    reply = client.get(start_url(token))
    assert reply.status_code == 404
    html = reply.content.decode()
    assert "This link is not active" in html
    assert (f'Please contact Outcomes Research Clinic (demo): <a {PHONE_LINK}>+1 555 0100</a> · '
            f'<a {MAIL_LINK}>research@clinic.example</a>, and we will help you.') in html
    assert "P-100" not in html


def test_an_expired_link_names_the_study_contact(client, visit, token, no_clinic_settings):
    with time_machine.travel(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)):
        html = client.get(step_url(token, 1)).content.decode()
    assert "This link is not active" in html and PHONE_LINK in html


def test_an_unknown_link_with_no_contact_anywhere_says_honestly_how_to_get_help(
    client, db, no_clinic_settings
):
    html = client.get("/s/" + "x" * 43 + "/").content.decode()
    assert "This page cannot tell which study the link belongs to." in html
    assert "the team that asked you to take part" in html
    assert "tel:" not in html and "Please contact ," not in html


def test_an_unknown_link_names_the_clinic_settings_when_they_are_set(client, db, settings):
    settings.CLINIC_NAME, settings.CLINIC_PHONE = "Spine clinic", "+34 910 000 000"
    html = client.get("/s/" + "x" * 43 + "/").content.decode()
    assert 'Please contact Spine clinic: <a href="tel:+34910000000">+34 910 000 000</a>' in html


def test_a_clinic_phone_without_a_clinic_name_still_reads_as_a_sentence(client, db, settings):
    settings.CLINIC_NAME, settings.CLINIC_EMAIL, settings.CLINIC_PHONE = "", "", "+1 555 0199"
    html = client.get("/s/" + "x" * 43 + "/").content.decode()
    assert 'Please contact the study team: <a href="tel:+15550199">' in html
    spanish = client.get("/s/" + "y" * 43 + "/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'Contacte con el equipo del estudio: <a href="tel:+15550199">' in spanish


def test_a_revoked_link_does_not_name_the_study(client, visit, token, no_clinic_settings):
    # A link is revoked when it reached the wrong person: they must not learn the study.
    revoke_link(visit=visit, reason="sent to the wrong address")
    html = client.get(start_url(token)).content.decode()
    assert "This link is not active" in html
    assert "Outcomes Research Clinic" not in html and PHONE_LINK not in html


def test_a_paused_patients_link_says_the_questionnaires_are_paused_and_whom_to_contact(
    client, visit, token
):
    enrolment = visit.enrolment
    enrolment.status, enrolment.status_reason = "paused", "in hospital"
    enrolment.save()
    for reply in (client.get(start_url(token)), client.get(step_url(token, 1)),
                  post(client, token, 1, ODI_10)):
        assert reply.status_code == 200
        html = reply.content.decode()
        assert "The study team has paused your questionnaires" in html
        assert (f"If you want to continue, contact Outcomes Research Clinic (demo): "
                f"<a {PHONE_LINK}>+1 555 0100</a>") in html
        assert "<form method=\"post\" novalidate" not in html and "in hospital" not in html
    assert not Response.objects.filter(visit=visit).exists()
    spanish = client.get(start_url(token), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "El equipo del estudio ha puesto en pausa sus cuestionarios" in spanish


# Dates -------------------------------------------------------------------------------

@pytest.mark.parametrize("language, close, opens", [
    ("en", "8 June 2026", "24 June 2026"),
    ("es", "8 de junio de 2026", "24 de junio de 2026"),
])
def test_every_date_has_one_format_per_language(client, visit, token, language, close, opens):
    # Baseline closes 7 days after the index date of 1 June 2026 (SPEC 5).
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    assert close in client.get(start_url(token), **headers).content.decode()
    assert close in post(client, token, 1, ODI_10, action="save", **headers).content.decode()
    fill_all(client, token)
    assert opens in client.get(done_url(token), **headers).content.decode()
