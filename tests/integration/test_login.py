"""Staff login: repeated failures lock the account for a while (django-axes)."""

from __future__ import annotations

from django.contrib.auth.models import User


def test_five_wrong_passwords_lock_out_even_the_right_one(client, db):
    User.objects.create_user("coord", password="right-password-123")
    for _ in range(4):
        reply = client.post("/accounts/login/", {"username": "coord", "password": "wrong"})
        assert reply.status_code == 200  # the form again, with its error
    fifth = client.post("/accounts/login/", {"username": "coord", "password": "wrong"})
    assert fifth.status_code == 429
    locked = client.post("/accounts/login/", {"username": "coord",
                                              "password": "right-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_right_password_logs_in_before_the_limit(client, db):
    User.objects.create_user("coord", password="right-password-123")
    client.post("/accounts/login/", {"username": "coord", "password": "wrong"})
    reply = client.post("/accounts/login/", {"username": "coord",
                                             "password": "right-password-123"})
    assert reply.status_code == 302


def test_a_300_character_username_gets_the_form_again_not_a_server_error(client, db):
    # On PostgreSQL, django-axes stored the username in a 255-character column and the
    # login answered 500 (DataError); the form must say the details are wrong instead.
    reply = client.post("/accounts/login/", {"username": "u" * 300, "password": "wrong"})
    assert reply.status_code == 200
    for _ in range(5):
        client.post("/accounts/login/", {"username": "v" * 300, "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "v" * 300,
                                            "password": "wrong"}).status_code == 429


def test_a_forwarded_for_header_from_an_untrusted_address_does_not_dodge_the_lockout(
        client, db, settings):
    settings.TRUSTED_PROXIES = []
    User.objects.create_user("coord", password="right-password-123")
    for n in range(5):
        client.post("/accounts/login/", {"username": "coord", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    reply = client.post("/accounts/login/", {"username": "coord", "password": "wrong"},
                        HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert reply.status_code == 429


def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(client, db, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    User.objects.create_user("coord", password="right-password-123")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "coord", "password": "wrong"},
                    REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    # Another client behind the same proxy is not locked out by the first one.
    other = client.post("/accounts/login/", {"username": "coord",
                                             "password": "right-password-123"},
                        REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert other.status_code == 302
