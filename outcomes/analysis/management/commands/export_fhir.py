"""``export_fhir --study CODE [--patient CODE]``: a FHIR R4 Bundle on standard output."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from outcomes.analysis.fhir import study_bundle
from outcomes.audit.services import record_change
from patients.models import Study


class Command(BaseCommand):
    help = "Print the study's (or one patient's) questionnaires, responses and scores as FHIR."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True)
        parser.add_argument("--patient", help="Only this patient's study code.")

    def handle(self, *args, study: str, patient: str | None, **options):
        target = Study.objects.filter(code=study).first()
        if target is None:
            raise CommandError(f"unknown study {study!r}")
        if patient and not target.patients.filter(code=patient).exists():
            raise CommandError(f"no patient {patient!r} in {study}")
        self.stdout.write(json.dumps(study_bundle(target, patient_code=patient), indent=1))
        record_change(obj=target, action="export", actor_label="export_fhir command",
                      reason=f"FHIR export{f' of {patient}' if patient else ''}")
