"""Weight of the questionnaire pages: HTML + CSS + JS, raw and gzip-compressed.

Run: .venv/bin/python bench/page_weight.py
Builds a throwaway SQLite database with the demo study, opens each page of a
baseline visit, and adds up every stylesheet and script the page links.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
tmp = tempfile.mkdtemp()
os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/weight.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outcomes.settings.test")

import django  # noqa: E402

django.setup()

from django.contrib.staticfiles import finders  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

call_command("migrate", verbosity=0)

from outcomes.followups.links import ensure_link  # noqa: E402
from patients.demo import ensure_demo_study  # noqa: E402
from patients.models import Site  # noqa: E402
from patients.services import enrol_patient  # noqa: E402

study = ensure_demo_study()
today = timezone.now().date()
enrolment = enrol_patient(study=study, code="W-1", arm=study.arms.get(code="BMC"),
                          site=Site.objects.get(code="MAIN"), enrolled_date=today,
                          index_date=today)
visit = enrolment.visits.get(timepoint__code="baseline")
token = ensure_link(visit=visit)
client = Client()
print(f"{'page':<28}{'HTML':>8}{'gz':>8}{'CSS+JS':>9}{'gz':>8}{'total gz':>10}")
for number, code in enumerate(("odi", "nrs11", "eq5d3l", "promis_gh"), start=1):
    html = client.get(f"/s/{token}/{number}/").content
    assets = re.findall(rb'(?:href|src)="/static/([^"]+\.(?:css|js))"', html)
    data = [Path(finders.find(a.decode())).read_bytes() for a in assets]
    raw_assets = sum(len(d) for d in data)
    gz_assets = sum(len(gzip.compress(d, 9)) for d in data)
    gz_html = len(gzip.compress(html, 9))
    total = (gz_html + gz_assets) / 1024
    print(f"{number}. {code:<25}{len(html) / 1024:>7.1f}K{gz_html / 1024:>7.1f}K"
          f"{raw_assets / 1024:>8.1f}K{gz_assets / 1024:>7.1f}K{total:>9.1f}K")
