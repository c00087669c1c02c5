"""The demo study of the seed (SPEC section 9, ``load_demo``): set-up and a synthetic cohort.

Everything here is idempotent: running it again creates only what is missing.
The cohort is synthetic, deterministic for a given seed and day, and laid out
relative to today so that some visits are completed, some due, some overdue
and some missed, and ``DEMO-0001`` has a visit open now.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from outcomes.access import ROLE_BY_CODE
from outcomes.followups.models import TimePoint, Visit
from outcomes.followups.schedule import DEFAULT_SCHEDULE
from outcomes.followups.services import ensure_schedule, study_today
from outcomes.instruments.models import Instrument, ResponderRule, Response
from outcomes.instruments.responders import DEFAULT_RULES
from outcomes.instruments.services import (
    complete_response,
    ensure_rules,
    refresh_responder_statuses,
    sync_instruments,
)

from .models import (
    Arm,
    Enrolment,
    InjectedStructure,
    Patient,
    PrimaryComparison,
    Procedure,
    Site,
    Study,
)
from .services import enrol_patient

STUDY_CODE = "BMC-LBP"
INSTRUMENT_ORDER = ("odi", "nrs11", "eq5d3l", "promis_gh")
DEMO_PASSWORD = "outcomes-demo"  # printed by load_demo; demo accounts only
DEMO_USERS = (  # username, role (outcomes.access.ROLES)
    ("coordinator", "coordinator"),
    ("clinician", "clinician"),
    ("datamanager", "data_manager"),
)
DEFAULT_COHORT = 40
PRIMARY_COMPARISON_RULES = ("odi_mcid_10pt", "nrs_2pt")
PRIMARY_TIMEPOINT = "m12"
ACTOR = "load_demo"


@dataclass(frozen=True)
class DemoSummary:
    study: Study
    patients_created: int
    users: tuple[str, ...]


@transaction.atomic
def ensure_demo_study() -> Study:
    """Create the demo study, its arms, site, schedule and seeded rules if missing."""
    sync_instruments()
    study, _ = Study.objects.get_or_create(
        code=STUDY_CODE,
        defaults={
            "title": "Bone marrow concentrate for chronic low back pain (demo)",
            "protocol_reference": "DEMO — synthetic data, not a real study",
            "description": (
                "Prospective, open-label, non-randomised, parallel-controlled two-arm study: "
                "a single bone-marrow-concentrate injection into spinal structures plus "
                "conventional care, against conventional care alone."
            ),
            "reminder_days": [3, 7],
            "contact_name": "Outcomes Research Clinic (demo)",
            "contact_email": "research@clinic.example",
            "contact_phone": "+1 555 0100",
        },
    )
    site, _ = Site.objects.get_or_create(code="MAIN", defaults={"name": "Main clinic"})
    study.sites.add(site)
    Arm.objects.get_or_create(
        study=study, code="BMC",
        defaults={
            "name": "Bone marrow concentrate + conventional care", "order": 0,
            "receives_procedure": True,
            "description": "One BMC injection into discs, facets, nerve roots and SI joints.",
        },
    )
    control, _ = Arm.objects.get_or_create(
        study=study, code="CONTROL",
        defaults={"name": "Conventional care", "order": 1,
                  "description": "NSAIDs, exercise, physical therapy, injections, opioids."},
    )
    if study.reference_arm_id is None:
        study.reference_arm = control
        study.save(update_fields=["reference_arm"])
    instruments = list(Instrument.objects.filter(code__in=INSTRUMENT_ORDER))
    instruments.sort(key=lambda i: INSTRUMENT_ORDER.index(i.code))
    ensure_schedule(study=study, specs=DEFAULT_SCHEDULE, instruments=instruments)
    ensure_rules(study=study, rules=DEFAULT_RULES)
    if not PrimaryComparison.objects.filter(study=study).exists():
        # The paper's primary outcomes (SPEC section 1): the ODI MCID and a 2-point NRS
        # reduction, at 12 months.
        final = TimePoint.objects.get(study=study, code=PRIMARY_TIMEPOINT)
        for order, code in enumerate(PRIMARY_COMPARISON_RULES):
            PrimaryComparison.objects.create(
                study=study, rule=ResponderRule.objects.get(study=study, code=code),
                timepoint=final, order=order)
    return study


def ensure_demo_users(site: Site) -> tuple[str, ...]:
    """Create the demo staff accounts (password ``DEMO_PASSWORD``) if missing."""
    users = []
    for username, role in DEMO_USERS:
        group, _ = Group.objects.get_or_create(name=ROLE_BY_CODE[role].group)
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": role == "data_manager"},  # set-up admin
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        user.groups.add(group)
        site.staff.add(user)
        users.append(username)
    return tuple(users)


def load_demo(*, with_patients: bool = True, size: int = DEFAULT_COHORT, seed: int = 2026,
              today: dt.date | None = None) -> DemoSummary:
    """Create the demo study, users and (unless told not to) the synthetic cohort."""
    study = ensure_demo_study()
    site = Site.objects.get(code="MAIN")
    users = ensure_demo_users(site)
    created = 0
    if with_patients:
        today = today or study_today(study)
        arms = {arm.code: arm for arm in study.arms.all()}
        existing = set(Patient.objects.filter(study=study).values_list("code", flat=True))
        for number in range(1, size + 1):
            code = f"DEMO-{number:04d}"
            if code in existing:
                continue
            rng = random.Random(f"{seed}:{code}")
            with transaction.atomic():
                _create_demo_patient(study, site, arms, code, number, rng, today)
            created += 1
    return DemoSummary(study=study, patients_created=created, users=users)


def _create_demo_patient(study, site, arms, code, number, rng, today) -> None:
    arm = arms["BMC"] if number % 2 else arms["CONTROL"]
    # DEMO-0001 is three months past its index date: its m3 visit is open today.
    offset = 90 if number == 1 else int(10 + (number * 397) % 420)
    index_date = today - dt.timedelta(days=offset)
    enrolled_date = index_date - dt.timedelta(days=rng.randint(3, 20))
    height = Decimal(rng.randint(152, 192))
    weight = Decimal(rng.randint(55, 115))
    opioid = Decimal(rng.choice([0, 0, 15, 30, 45, 60, 90]))
    enrolment = enrol_patient(
        study=study, code=code, arm=arm, site=site,
        enrolled_date=enrolled_date, index_date=index_date,
        actor_label=ACTOR, today=today,
        sex=rng.choice([Patient.Sex.FEMALE, Patient.Sex.MALE]),
        age_at_enrolment=rng.randint(28, 79),
        height_cm=height, weight_kg=weight,
        pain_duration_months=rng.randint(12, 180),
        baseline_opioid_mme=opioid,
        contact={
            "full_name": f"Demo Patient {number}",
            "email": f"demo{number:04d}@patients.example",
            "preferred_channel": "email",
        },
    )
    if arm.receives_procedure:
        _demo_procedure(enrolment, rng)
    treated = arm.receives_procedure
    responder = rng.random() < (0.7 if treated else 0.12)
    severity = rng.uniform(0.5, 0.75)
    instruments = {i.code: i for i in Instrument.objects.filter(code__in=INSTRUMENT_ORDER)}
    visits = Visit.objects.filter(enrolment=enrolment).select_related("timepoint")
    for visit in visits:
        if not _answered(visit, today, rng, force=number == 1 and visit.timepoint.is_baseline):
            continue
        months = visit.timepoint.target_day / 30
        gain = 0.0
        if not visit.timepoint.is_baseline:
            if responder:
                gain = min(0.35, 0.12 * months) if treated else 0.2
            else:
                gain = 0.03 * rng.random()
        s = min(1.0, max(0.0, severity - gain + rng.gauss(0, 0.04)))
        last = min(visit.window_close_date, today)
        day = visit.window_open_date + dt.timedelta(
            days=rng.randint(0, max(0, (last - visit.window_open_date).days)),
        )
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, rng.randint(0, 59))))
        for code in INSTRUMENT_ORDER:
            response = Response.objects.create(
                visit=visit, instrument=instruments[code], answers=_answers(code, s, rng),
                source=Response.Source.WEB,
            )
            complete_response(response=response, actor_label=ACTOR, completed_at=at,
                              refresh_status=False)
        factor = Decimal("0.6") if treated and responder else Decimal("1.1")
        mme = enrolment.patient.baseline_opioid_mme
        if mme is not None:
            Visit.objects.filter(pk=visit.pk).update(
                opioid_mme=mme if visit.timepoint.is_baseline else (mme * factor).quantize(
                    Decimal("0.1")),
            )
    refresh_responder_statuses(enrolment=enrolment)


def _answered(visit: Visit, today: dt.date, rng: random.Random, *, force: bool) -> bool:
    if force:
        return True
    if visit.window_close_date < today:
        return rng.random() < 0.85
    if visit.window_open_date <= today:
        return today > visit.target_date and rng.random() < 0.5
    return False


def _answers(code: str, s: float, rng: random.Random) -> dict[str, int | None]:
    """Return plausible answers for severity ``s`` (0 = well, 1 = worst)."""
    def level(top: int, low: int = 0) -> int:
        return max(low, min(top, round(low + s * (top - low) + rng.gauss(0, 0.6))))

    if code == "odi":
        sections = ("pain_intensity", "personal_care", "lifting", "walking", "sitting",
                    "standing", "sleeping", "sex_life", "social_life", "travelling")
        answers: dict[str, int | None] = {item: level(5) for item in sections}
        if rng.random() < 0.15:
            answers["sex_life"] = None
        return answers
    if code == "nrs11":
        return {"pain": level(10)}
    if code == "eq5d3l":
        dims = ("mobility", "self_care", "usual_activities", "pain_discomfort",
                "anxiety_depression")
        answers = {d: level(3, 1) for d in dims}
        answers["vas"] = max(0, min(100, round(100 * (1 - s) + rng.gauss(0, 8))))
        return answers
    good = {f: 6 - level(5, 1) for f in ("global01", "global02", "global03", "global04",
                                          "global05", "global09r", "global06", "global10r",
                                          "global08r")}
    good["global07r"] = level(10)
    return good


def _demo_procedure(enrolment: Enrolment, rng: random.Random) -> None:
    procedure = Procedure.objects.create(
        enrolment=enrolment,
        procedure_date=enrolment.index_date,
        volume_ml=Decimal(rng.randint(8, 20)),
        total_nucleated_cells=Decimal(rng.randint(300, 1800)),
        cfu_f=Decimal(rng.randint(20, 200)),
        cd34_cells=Decimal(rng.randint(500, 6000)) / 1000,
        platelets=Decimal(rng.randint(400, 1500)),
        mri_change=rng.choice(list(Procedure.MriChange.values)),
        notes="Synthetic demo record.",
    )
    InjectedStructure.objects.bulk_create([
        InjectedStructure(procedure=procedure, structure="intradiscal", level="L4-L5"),
        InjectedStructure(procedure=procedure, structure="intradiscal", level="L5-S1"),
        InjectedStructure(procedure=procedure, structure="facet", level="L4-L5",
                          side="bilateral"),
        InjectedStructure(procedure=procedure, structure="sacroiliac", side="bilateral"),
    ])
