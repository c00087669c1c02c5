"""``load_demo``: the demo study of the seed, with demo staff and a synthetic cohort."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from patients.demo import DEFAULT_COHORT, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Create the demo study BMC-LBP (idempotent), demo staff and a synthetic cohort."

    def add_arguments(self, parser):
        parser.add_argument(
            "--without-patients", action="store_true",
            help="Set up the study, schedule, rules and users only.",
        )
        parser.add_argument(
            "--size", type=int, default=DEFAULT_COHORT,
            help=f"Number of synthetic patients (default {DEFAULT_COHORT}).",
        )

    def handle(self, *args, without_patients: bool, size: int, **options):
        summary = load_demo(with_patients=not without_patients, size=size)
        patients = summary.study.patients.count()
        self.stdout.write(self.style.SUCCESS(
            f"Demo study {summary.study.code}: {patients} patients "
            f"({summary.patients_created} created now)."
        ))
        self.stdout.write(f"Open {settings.SITE_URL}/ and log in as:")
        for username in summary.users:
            self.stdout.write(f"  {username:<12} password: {DEMO_PASSWORD}")
