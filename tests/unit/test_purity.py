"""The pure core imports nothing from Django (STYLE: layering)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "outcomes.instruments.definitions",
    "outcomes.instruments.definitions.metadata",
    "outcomes.instruments.scoring",
    "outcomes.instruments.scoring.alerts",
    "outcomes.instruments.responders",
    "outcomes.followups.schedule",
    "outcomes.followups.cadence",
    "outcomes.analysis.stats",
    "outcomes.analysis.covariates",
    "outcomes.analysis.computation",
    "outcomes.analysis.charts",
    "outcomes.analysis.wording",
    "outcomes.analysis.page",
    "outcomes.csvfiles",
    "outcomes.logging",
    "outcomes.survey.completeness",
]


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_loads_without_django(module):
    # outcomes/__init__.py loads the Celery app; import the module by file path instead.
    code = (
        "import importlib, sys, types\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "pkg = types.ModuleType('outcomes'); pkg.__path__ = [" + repr(str(ROOT / "outcomes"))
        + "]\n"
        "sys.modules['outcomes'] = pkg\n"
        f"importlib.import_module({module!r})\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not leaked, leaked\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
