"""Each piece of text is marked in the language it is written in (WCAG 3.1.1 and 3.1.2).

A screen reader picks its voice from the nearest ``lang`` attribute. A patient using the
Spanish interface hears the page's own words (buttons, errors) in Spanish and an
instrument without a licensed translation in English; the staff pages, written in
English only, say so; the pages anyone may meet (landing, login, password, errors) are
translated whole.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import path
from django.utils import timezone

from outcomes.followups.links import ensure_link
from outcomes.urls import urlpatterns as project_urls
from tests.factories import enrol
from tests.htmltree import parse

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}


def spoken(html: bytes | str, text: str) -> str:
    """The language ``text`` is read in: the nearest ``lang`` around it (one, wherever)."""
    found = set()

    def walk(node, lang):
        lang = node.attrs.get("lang", lang)
        for child in node.children:
            if isinstance(child, str):
                if " ".join(child.split()) == text:
                    found.add(lang)
            else:
                walk(child, lang)

    walk(parse(html), "")
    assert len(found) == 1, f"{text!r} read as {found or 'nothing: not in the page'}"
    return found.pop()


def main_lang(html: bytes) -> str | None:
    return parse(html).find("main").attrs.get("lang")


@pytest.fixture
def token(study):
    today = timezone.now().date()
    enrolment = enrol(study, "L-001", index_date=today, today=today)
    return ensure_link(visit=enrolment.visits.get(timepoint__code="baseline"))


def test_a_spanish_patient_hears_the_buttons_in_spanish_and_the_english_questionnaire_in_english(
    client, token
):
    html = client.get(f"/s/{token}/2/", **SPANISH).content  # NRS-11: English only
    assert spoken(html, "Pain intensity (NRS-11)") == "en"  # the instrument's title
    assert spoken(html, "Average pain over the past 7 days.") == "en"
    assert spoken(html, "Numerical rating scale: public domain.") == "en"
    assert spoken(html, "Cuestionario 2 de 4") == "es"
    for button in ("Siguiente", "Guardar y terminar más tarde", "Atrás"):
        assert spoken(html, button) == "es", button
    # The same page in English: one language, nothing to mark.
    english = client.get(f"/s/{token}/2/").content
    assert spoken(english, "Next") == "en" and spoken(english, "Pain intensity (NRS-11)") == "en"


def test_english_only_staff_pages_say_so_under_the_spanish_interface(client, demo):
    client.force_login(User.objects.get(username="coordinator"))
    html = client.get("/studies/BMC-LBP/", **SPANISH).content
    assert parse(html).find("html").attrs["lang"] == "es"
    assert main_lang(html) == "en"
    assert spoken(html, "Worklists") == "en"  # the study's sections in the bar
    assert spoken(html, "Cerrar sesión") == "es" and spoken(html, "Menú") == "es"
    assert main_lang(client.get("/studies/BMC-LBP/").content) is None  # English: no need


def boom(request):
    raise RuntimeError("a view failed")


urlpatterns = [*project_urls, path("boom/", boom)]


@pytest.mark.urls(__name__)
def test_the_pages_anyone_may_meet_are_spanish_under_the_spanish_interface(demo, settings):
    settings.DEBUG = False
    visitor = Client(raise_request_exception=False)
    pages = {
        "/": "Resultados comunicados por los pacientes para estudios clínicos de resultados.",
        "/accounts/login/": "Iniciar sesión",
        "/no/such/page/": "Página no encontrada",
        "/boom/": "Algo ha fallado por nuestra parte",
    }
    for url, text in pages.items():
        html = visitor.get(url, **SPANISH).content
        assert spoken(html, text) == "es", url
        assert parse(html).find("html").attrs["lang"] == "es", url
        assert main_lang(html) is None, url
    staff = Client()
    staff.force_login(User.objects.get(username="clinician"))
    for url, text in {"/": "Estudios", "/studies/BMC-LBP/enrol/": "No permitido",
                      "/accounts/password_change/": "Cambie su contraseña",
                      "/accounts/password_change/done/": "Contraseña cambiada"}.items():
        html = staff.get(url, **SPANISH).content
        assert spoken(html, text) == "es", url
        assert main_lang(html) is None, url
    # Django's own form labels on the password page are in Spanish too.
    password_page = staff.get("/accounts/password_change/", **SPANISH).content.decode()
    assert "Contraseña antigua" in password_page
