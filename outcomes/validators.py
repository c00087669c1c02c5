"""Validators shared by every app's models."""

from __future__ import annotations

from django.core.validators import RegexValidator

#: Codes of studies, sites, arms, patients, time points, rules and instruments: they end
#: up in file names, URLs and spreadsheet cells, so they start with a letter or digit
#: (never ``=``, ``+``, ``-`` or ``@``, which a spreadsheet would run as a formula).
code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z",
    "Use letters, digits, '-', '_' or '.', starting with a letter or digit.",
)
