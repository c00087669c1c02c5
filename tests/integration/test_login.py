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
