"""``survey_link PATIENT [--timepoint CODE]``: print the absolute URL of a private link."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from outcomes.followups.links import survey_url
from outcomes.followups.models import Visit
from outcomes.followups.selectors import current_visit
from outcomes.followups.services import study_today
from patients.models import Enrolment


class Command(BaseCommand):
    help = "Print the private questionnaire link of a patient's current (or named) visit."

    def add_arguments(self, parser):
        parser.add_argument("patient", help="The patient's study code, e.g. DEMO-0001.")
        parser.add_argument("--timepoint", help="Time point code, e.g. m3 (default: current).")
        parser.add_argument("--study", help="Study code, when the patient code is in several.")

    def handle(self, *args, patient: str, timepoint: str | None, study: str | None, **options):
        enrolments = Enrolment.objects.filter(patient__code=patient).select_related("study")
        if study:
            enrolments = enrolments.filter(study__code=study)
        enrolments = list(enrolments)
        if not enrolments:
            raise CommandError(f"no patient {patient!r}" + (f" in study {study}" if study else ""))
        if len(enrolments) > 1:
            codes = ", ".join(e.study.code for e in enrolments)
            raise CommandError(f"{patient} is in several studies ({codes}); pass --study")
        enrolment = enrolments[0]
        if timepoint:
            visit = Visit.objects.filter(enrolment=enrolment, timepoint__code=timepoint).first()
            if visit is None:
                raise CommandError(f"{patient} has no visit at time point {timepoint!r}")
        else:
            visit = current_visit(enrolment, today=study_today(enrolment.study))
            if visit is None:
                raise CommandError(f"{patient} has no open or upcoming visit; use --timepoint")
        self.stdout.write(survey_url(visit=visit))
