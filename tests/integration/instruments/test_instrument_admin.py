"""The admin's "Import instrument file": the command's checks, for data managers, audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.instruments.models import Instrument
from tests.htmltree import parse

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
IMPORT = "admin:instruments_instrument_import"


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


def upload(client, content: bytes, name: str = "phq9.json", reason: str = ""):
    return client.post(reverse(IMPORT), {"file": SimpleUploadedFile(name, content),
                                         "reason": reason})


@pytest.fixture
def manager(demo):
    return User.objects.get(username="datamanager")


def test_a_data_manager_imports_a_file_and_the_audit_names_them(client, manager):
    client.force_login(manager)
    listing = client.get(reverse("admin:instruments_instrument_changelist")).content.decode()
    assert f'href="{reverse(IMPORT)}"' in listing and "Import instrument file" in listing
    assert client.get(reverse(IMPORT)).status_code == 200
    reply = upload(client, (DATA / "phq9.json").read_bytes(), reason="for the knee study")
    instrument = Instrument.objects.get(code="phq9", version="1.0")
    assert reply.status_code == 302
    assert reply.url == reverse("admin:instruments_instrument_change", args=[instrument.pk])
    shown = client.get(reply.url).content.decode()
    assert "PHQ-9 version 1.0 was imported." in shown
    (record,) = AuditRecord.objects.filter(object_type="instruments.instrument",
                                           object_id=str(instrument.pk))
    assert (record.actor, record.action) == (manager, "create")
    assert record.reason == "imported from phq9.json: for the knee study"
    assert record.changes["definition"] == [None, instrument.definition]
    # The same file again: nothing changes, and the page says so.
    again = upload(client, (DATA / "phq9.json").read_bytes())
    assert "nothing changed" in client.get(again.url).content.decode()
    assert AuditRecord.objects.filter(object_type="instruments.instrument").count() == 1


def test_a_broken_file_is_listed_a_line_per_problem_and_nothing_is_stored(client, manager):
    data = json.loads((DATA / "phq9.json").read_text())
    data["items"][0]["options"][0]["value"] = 1.5
    data["scores"][0]["items"][0] = "phq0"
    client.force_login(manager)
    before = (Instrument.objects.count(), AuditRecord.objects.count())
    reply = upload(client, json.dumps(data).encode())
    assert reply.status_code == 400
    page = parse(reply.content.decode())
    alert = page.find(id="problems")
    assert alert.attrs["role"] == "alert"
    assert alert.find("h2").text == "phq9.json was refused: nothing was stored"
    assert [li.text for li in alert.find_all("li")] == [
        "items[0].options[0].value: expected an integer, got 1.5",
        "scores[0].items: no item 'phq0'",
    ]
    assert (Instrument.objects.count(), AuditRecord.objects.count()) == before


def test_a_file_that_is_not_json_is_refused_at_the_field(client, manager):
    client.force_login(manager)
    reply = upload(client, b'{"code": "phq9",', name="phq9.json")
    assert reply.status_code == 400
    assert "phq9.json: not JSON: Expecting property name enclosed in double quotes at line 1" \
        in reply.content.decode()
    reply = upload(client, "é".encode("latin-1"), name="latin.json")
    assert "latin.json: not UTF-8 text" in reply.content.decode()
    assert not Instrument.objects.filter(code="phq9").exists()


def test_json_nested_too_deeply_is_refused_at_the_field_not_a_500(client, manager):
    # Review #7: the form caught JSONDecodeError only; '[' * 200000 raised RecursionError.
    client.force_login(manager)
    reply = upload(client, b"[" * 200_000, name="deep.json")
    assert reply.status_code == 400
    assert "deep.json: not JSON: nested too deeply to read." in reply.content.decode()
    assert not Instrument.objects.filter(code="phq9").exists()


def test_a_byte_order_mark_is_taken_as_the_command_takes_it(client, manager):
    client.force_login(manager)
    reply = upload(client, b"\xef\xbb\xbf" + (DATA / "phq9.json").read_bytes())
    assert reply.status_code == 302
    assert Instrument.objects.filter(code="phq9", version="1.0").exists()


def test_only_those_allowed_to_import_may(client, demo):
    # A staff user of no role: the admin lets them in, the import page does not.
    bystander = User.objects.create_user("bystander", password="x" * 12, is_staff=True)
    client.force_login(bystander)
    assert client.get(reverse(IMPORT)).status_code == 403
    assert upload(client, (DATA / "phq9.json").read_bytes()).status_code == 403
    # A coordinator is not staff: the admin sends them to its login page.
    client.force_login(User.objects.get(username="coordinator"))
    assert client.get(reverse(IMPORT)).status_code == 302
    assert not Instrument.objects.filter(code="phq9").exists()
    assert Group.objects.get(name="Data managers").permissions.filter(
        codename="add_instrument").exists()


def test_instruments_are_not_added_or_edited_by_hand(client, demo):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 12))
    assert client.get(reverse("admin:instruments_instrument_add")).status_code == 403
    odi = Instrument.objects.get(code="odi")
    url = reverse("admin:instruments_instrument_change", args=[odi.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(url, {"title": "Changed"}).status_code == 403
    odi.refresh_from_db()
    assert odi.title == "Oswestry Disability Index"
