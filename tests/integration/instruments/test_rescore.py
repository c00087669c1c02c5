"""``rescore``: stored scores recomputed, audited, verdicts refreshed."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from outcomes.audit.models import AuditRecord
from outcomes.instruments.models import Score
from tests.integration.instruments.test_import_study import PATIENTS, responses_csv


def test_rescore_repairs_a_tampered_score_and_leaves_correct_ones_alone(study, tmp_path):
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses_csv())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"))
    out = StringIO()
    call_command("rescore", stdout=out)
    assert json.loads(out.getvalue())["changed"] == 0
    wrong = Score.objects.filter(code="odi").first()
    Score.objects.filter(pk=wrong.pk).update(exact="99", value=99)
    out = StringIO()
    call_command("rescore", "--dry-run", stdout=out)
    assert json.loads(out.getvalue())["changed"] == 1
    assert Score.objects.get(pk=wrong.pk).exact == "99"
    call_command("rescore", stdout=StringIO())
    repaired = Score.objects.get(response=wrong.response, code="odi")
    assert repaired.exact != "99"
    record = AuditRecord.objects.get(actor_label="rescore")
    assert record.changes["scores"][0]["odi"] == "99"


def test_a_stricter_blank_rule_rescores_an_odi_as_not_scorable(study, tmp_path):
    from outcomes.instruments.models import ResponderStatus, Response

    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses_csv())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"))
    # L-002 left sex life blank: scored while one blank section is allowed, not after.
    study.max_missing = {"odi": 0}
    study.save()
    out = StringIO()
    call_command("rescore", stdout=out)
    assert json.loads(out.getvalue())["changed"] == 1
    response = Response.objects.get(visit__enrolment__patient__code="L-002",
                                    instrument__code="odi", state="completed")
    assert not response.scores.exists()
    assert response.not_scorable["odi"] == "1 section unanswered; none may be missing"
    record = AuditRecord.objects.get(actor_label="rescore")
    assert record.changes["not_scorable"][1]["odi"] == response.not_scorable["odi"]
    status = ResponderStatus.objects.filter(enrolment=response.visit.enrolment,
                                            rule__code="odi_mcid_10pt").first()
    assert status.reason.startswith("ODI not scorable at baseline: 1 section unanswered")
