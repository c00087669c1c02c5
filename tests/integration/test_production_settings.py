"""Production refuses what would leak or lose messages, and a per-process cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from outcomes.followups.channels import PermanentChannelError, send_sms

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SETTINGS_MODULE": "outcomes.settings.production",
    "SECRET_KEY": "a-production-like-secret-key-" + "k" * 40,
    "DATABASE_URL": "sqlite:////tmp/outcomes-deploy-check.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "rediscache://127.0.0.1:6379/1",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "DEFAULT_FROM_EMAIL": "Outcomes <outcomes@outcomes.example.org>",
    "ALLOWED_HOSTS": "outcomes.example.org",
    "SITE_URL": "https://outcomes.example.org",
}


def deploy_check(**changes: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in GOOD and k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "SMS_BACKEND")}
    env.update(GOOD)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_production_configuration_passes_the_deploy_check():
    result = deploy_check()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("changes", "words"), [
    ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, "EMAIL_BACKEND"),
    ({"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}, "EMAIL_BACKEND"),
    ({"SMS_BACKEND": "outcomes.followups.channels.console.ConsoleSMSBackend"}, "SMS_BACKEND"),
    ({"CACHE_URL": None}, "outcomes.E001"),
])
def test_production_refuses_console_messages_and_a_per_process_cache(changes, words):
    result = deploy_check(**changes)
    assert result.returncode != 0
    assert words in result.stderr + result.stdout


def test_without_a_text_message_provider_a_text_fails_instead_of_being_sent(settings):
    settings.SMS_BACKEND = ""
    with pytest.raises(PermanentChannelError, match="no text message provider"):
        send_sms(to="+15555550100", body="Your questionnaire: …")
