"""System checks: every instrument definition has a scorer."""

from __future__ import annotations

from django.core.checks import Error, register


@register()
def check_every_instrument_has_a_scorer(app_configs=None, **kwargs):
    from .definitions import INSTRUMENTS
    from .scoring import SCORERS

    return [
        Error(
            f"Instrument {code!r} has no scoring function.",
            hint="Register one in outcomes/instruments/scoring/__init__.py.",
            id="instruments.E001",
        )
        for code in INSTRUMENTS
        if code not in SCORERS
    ]
