"""Private-link tokens never reach the logs."""

from __future__ import annotations

import logging

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
