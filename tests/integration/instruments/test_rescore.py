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
