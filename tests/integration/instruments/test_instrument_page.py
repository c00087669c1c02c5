"""An instrument version's admin page: its definition file read as a document.

What the page must say is read from the library files and the ODI's published scoring
(Fairbank & Pynsent 2000: points over 5 × sections answered; one section may be left
out; bands 0-20 minimal … 81-100 bed-bound), not from the selector's own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from outcomes.instruments.models import Instrument
from outcomes.instruments.selectors import instrument_document
from outcomes.instruments.services import import_instrument_definition
from tests.htmltree import parse

LIBRARY = Path(__file__).resolve().parents[3] / "outcomes" / "instruments" / "library"
DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


@pytest.fixture
def manager(demo):
    return User.objects.get(username="datamanager")


def page(client, instrument) -> str:
    reply = client.get(reverse("admin:instruments_instrument_change", args=[instrument.pk]))
    assert reply.status_code == 200
    return reply.content.decode()


def main(html: str):
    return parse(html).find(id="content-main")


def test_the_odi_reads_as_a_document_with_every_item_and_its_score_in_words(
        client, manager):
    odi = Instrument.objects.get(code="odi")
    file = json.loads((LIBRARY / "odi.json").read_text())
    client.force_login(manager)
    content = main(page(client, odi))
    text = content.text
    for said in (file["title"], file["short_title"], "2.1a", file["source"], file["licence"],
                 file["recall_period"], "English"):
        assert said in text
    rows = content.find("section", aria_labelledby="items-heading").find("tbody").find_all("tr")
    assert len(rows) == len(file["items"]) == 10
    first = [cell.text for cell in rows[0].find_all("td")]
    assert first[:2] == ["1", "pain_intensity"]
    assert first[2] == "Pain intensity label only (licensed wording)"  # Mapi: labels only
    assert first[3] == "Choice of statements"
    assert "0 → No pain at the moment" in first[4]
    assert "5 → Worst imaginable pain at the moment" in first[4]
    assert [cell.text for cell in rows[-1].find_all("td")][1] == "travelling"
    assert "Percent of maximum (the ODI's method)" in text
    assert "1 of 10 may be blank" in text  # one section may be left out
    assert "Lower is better" in text
    assert "0 to 20: minimal" in text
    assert "above 80, up to 100: bed-bound" in text
    assert "not scorable: “2 sections unanswered; at most 1 allowed”" in text
    assert "LOINC 97909-6 Oswestry disability index score ODI" in text
    # The demo cohort answered it: it never changes, and the page says so.
    assert odi.responses.exists()
    assert "so it never changes" in text
    assert odi.digest in text
    # A document, not the file: none of the definition's JSON is on the page.
    for raw in ('{"', '"items"', '"options"', "percent_of_max", "lower_is_better"):
        assert raw not in text
    # Read-only as before: no Save button, no form field.
    assert 'name="_save"' not in str(content.attrs) and not content.find_all("input",
                                                                            type="text")


def test_a_lookup_table_is_collapsed_and_its_rows_are_the_published_ones(client, manager):
    promis = Instrument.objects.get(code="promis_gh")
    file = json.loads((LIBRARY / "promis_gh.json").read_text())
    gph_t = next(score for score in file["scores"] if score["key"] == "gph_t")
    client.force_login(manager)
    content = main(page(client, promis))
    details = content.find_all("details")
    assert len(details) == 4  # GPH and GMH, each a T-score and its SE
    assert details[0].find("summary").text == "Value of each raw sum (17 rows)"
    rows = {cells[0].text: cells[1].text for cells in (
        tr.find_all("td") for tr in details[0].find("tbody").find_all("tr"))}
    # HealthMeasures' Global Physical Health table: raw 4 → T 16.2, raw 20 → T 67.7.
    assert rows["4"] == "16.2" == str(gph_t["table"]["4"])
    assert rows["20"] == "67.7" == str(gph_t["table"]["20"])
    assert "Looked up in a table by" in content.text
    assert "Recoded first: global07r" in content.text


def test_an_unanswered_imported_version_says_it_can_be_replaced_and_downloads_as_exported(
        client, manager):
    from outcomes.instruments.definitions.fhir import questionnaire
    from outcomes.instruments.definitions.files import dump_definition
    from outcomes.instruments.stored import definition_of

    done = import_instrument_definition(data=json.loads((DATA / "knee_pain.json").read_text()))
    knee = done.instrument
    document = instrument_document(knee)
    assert (document.responses, document.labels_only) == (0, False)
    assert [item.required for item in document.items] == [
        "Required", "Optional", "Optional", "Optional"]
    assert document.items[0].scale == "0..10"
    assert document.items[0].options == (("0", "No pain"), ("10", "Worst possible pain"))
    client.force_login(manager)
    html = page(client, knee)
    assert "No responses yet." in html and "label only" not in html
    tree = parse(html)
    links = {a.text: a.attrs["href"] for a in tree.find(id="content-main").find_all("a")}
    file_url = links["the definition file (JSON, as export_instrument writes it)"]
    fhir_url = links["the FHIR R4 Questionnaire (JSON)"]
    reply = client.get(file_url)
    assert reply["Content-Disposition"] == 'attachment; filename="knee_nrs-1.0.json"'
    assert reply.content.decode() == dump_definition(definition_of(knee))
    reply = client.get(fhir_url)
    assert json.loads(reply.content) == questionnaire(definition_of(knee))
    assert reply["Content-Disposition"].endswith('knee_nrs-1.0-questionnaire.json"')


def test_the_downloads_need_the_admin_as_the_page_does(client, demo):
    odi = Instrument.objects.get(code="odi")
    url = reverse("admin:instruments_instrument_file", args=[odi.pk])
    assert client.get(url).status_code == 302  # to the admin's login
    client.force_login(User.objects.create_user("bystander", password="x" * 12,
                                                is_staff=True))
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:instruments_instrument_change",
                              args=[odi.pk])).status_code == 403
    client.force_login(User.objects.get(username="datamanager"))
    assert client.get(reverse("admin:instruments_instrument_file",
                              args=[999999])).status_code == 404


def test_the_phq9_page_shows_its_alert_and_the_pgic_page_its_anchor(client, manager):
    """The catalogue's PHQ-9 flags question 9 answered 1 ("Several days") or more; the
    PGIC's rating of 2 ("much improved") or lower is the MCID estimates' anchor."""
    phq9_file = json.loads((LIBRARY / "catalogue" / "phq9.json").read_text())
    phq9 = import_instrument_definition(data=phq9_file).instrument
    pgic = import_instrument_definition(
        data=json.loads((LIBRARY / "catalogue" / "pgic.json").read_text())).instrument
    client.force_login(manager)
    alert = phq9_file["alerts"][0]
    assert instrument_document(phq9).alerts == (
        ("phq9_item9", "question 9 (phq9) answered 1 or more", alert["staff_message"],
         alert["patient_message"]),)
    text = main(page(client, phq9)).text
    assert "Answers needing attention (1)" in text
    assert "question 9 (phq9) answered 1 or more" in text
    assert alert["staff_message"] in text and alert["patient_message"] in text
    document = instrument_document(pgic)
    assert document.alerts == ()
    assert dict(document.scores[0].details)["Anchor of the MCID estimates"].startswith(
        "2 or lower counts as “much improved or better”")
    pgic_text = main(page(client, pgic)).text
    assert "Anchor of the MCID estimates" in pgic_text
    assert "None: no answer of this questionnaire is flagged" in pgic_text
