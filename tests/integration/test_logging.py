"""Private-link tokens never reach the logs."""

from __future__ import annotations

import logging

import pytest

from outcomes.logging import redact


def test_a_not_found_link_is_logged_without_its_token(client, caplog, db):
    token = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/s/{token}/")
    assert response.status_code == 404
    assert caplog.records, "the 404 is logged"
    assert token not in caplog.text
    assert "/s/[token]/" in caplog.text


def test_access_log_lines_are_redacted():
    line = '"GET /s/abcdefgh_12345678-xyz/2/ HTTP/1.1" 200 5347'
    assert redact(line) == '"GET /s/[token]/2/ HTTP/1.1" 200 5347'


@pytest.mark.parametrize("spelling", ["%39{rest}", "{head}%2F{tail}", "{head}%20{tail}",
                                      "{head}%3F{tail}"])
def test_a_percent_encoded_link_is_logged_without_its_token(client, caplog, db, spelling):
    token = "9peFq3Lr0xYt-Zb_7KmWc2NvHs5aJd8EgUo1iR4TlQy"
    path = "/s/" + spelling.format(rest=token[1:], head=token[:6], tail=token[6:]) + "/"
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(path)
    assert response.status_code == 404
    assert caplog.records, "the 404 is logged"
    for start in range(len(token) - 7):
        assert token[start:start + 8] not in caplog.text, caplog.text
    assert "Not Found: /s/[token]/" in caplog.text
