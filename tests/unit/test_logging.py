"""Private-link tokens are redacted however the link is spelled (outcomes.logging)."""

from __future__ import annotations

import pytest

from outcomes.logging import redact, redact_url

TOKEN = "9peFq3Lr0xYt-Zb_7KmWc2NvHs5aJd8EgUo1iR4TlQy"  # 43 characters, as links.py makes
ENCODED = "".join(f"%{ord(c):02X}" for c in TOKEN)


@pytest.mark.parametrize(("line", "expected"), [
    (f"GET /s/{TOKEN}/ HTTP/1.1", "GET /s/[token]/ HTTP/1.1"),
    (f"GET /s/%39{TOKEN[1:]}/ HTTP/1.1", "GET /s/[token]/ HTTP/1.1"),  # %39 is "9"
    (f"GET /s/{ENCODED}/2/ HTTP/1.1", "GET /s/[token]/2/ HTTP/1.1"),
    (f"GET /s%2F{TOKEN}%2F HTTP/1.1", "GET /s%2F[token]%2F HTTP/1.1"),
    (f"GET /s%2f{TOKEN}%2f3%2f HTTP/1.1", "GET /s%2f[token]%2f3%2f HTTP/1.1"),
    (f"GET /%73/{TOKEN}/ HTTP/1.1", "GET /%73/[token]/ HTTP/1.1"),
    (f"GET /%53/{TOKEN}/done/ HTTP/1.1", "GET /%53/[token]/done/ HTTP/1.1"),
    (f"GET /S/{TOKEN}/ HTTP/1.1", "GET /S/[token]/ HTTP/1.1"),
    (f"GET /s/{TOKEN[:9]}%2F{TOKEN[9:]}/ HTTP/1.1", "GET /s/[token]/ HTTP/1.1"),
    (f"next=%252Fs%252F{TOKEN}%252F&lang=es", "next=%252Fs%252F[token]%252F&lang=es"),
    (f"u=https%3A%2F%2Fh%2F%2573%2F{TOKEN}", "u=https%3A%2F%2Fh%2F%2573%2F[token]"),
    (f'"https://outcomes.example.org/s/{TOKEN}/4/" "Mozilla/5.0"',
     '"https://outcomes.example.org/s/[token]/4/" "Mozilla/5.0"'),
    (f"Not Found: /s/{TOKEN}/?lang=es", "Not Found: /s/[token]/?lang=es"),
])
def test_a_link_is_redacted_in_every_spelling(line, expected):
    assert redact(line) == expected


@pytest.mark.parametrize("path", [
    f"/s/{TOKEN[:9]}/{TOKEN[9:]}/",  # %2F inside, decoded by the server
    f"/s/{TOKEN[:9]} {TOKEN[9:]}/",  # %20
    f"/s/{TOKEN[:9]}?{TOKEN[9:]}/",  # %3F
    f'/s/{TOKEN[:9]}"{TOKEN[9:]}/',  # %22
])
def test_a_decoded_path_is_redacted_whole_after_its_s(path):
    assert redact_url(path) == "/s/[token]/"


def test_a_page_number_or_done_survives_after_the_token():
    assert redact_url(f"/s/{TOKEN}/7/") == "/s/[token]/7/"
    assert redact_url(f"/s/{TOKEN}/done/") == "/s/[token]/done/"
    assert redact_url(f"https://h.example/s/{TOKEN}/done/") == "https://h.example/s/[token]/done/"


@pytest.mark.parametrize("text", [
    "/static/css/app.css", "/studies/BMC-LBP/patients/DEMO-0001/", "/s/",
    "/accounts/login/?next=/studies/", "/s/[token]/2/", "/assets/x",
])
def test_other_paths_and_redacted_text_are_left_alone(text):
    assert redact(text) == text
    assert redact_url(text) == text
    assert redact(f"GET {text} HTTP/1.1") == f"GET {text} HTTP/1.1"
