"""System checks: every instrument definition can be scored."""

from __future__ import annotations

from django.core.checks import Error, register


@register()
def check_every_instrument_has_a_scorer(app_configs=None, **kwargs):
    from .definitions import INSTRUMENTS
    from .scoring import SCORERS, unregistered_functions

    errors = [
        Error(
            f"Instrument {code!r} has no scoring function.",
            hint="Its definition file is in outcomes/instruments/library/.",
            id="instruments.E001",
        )
        for code in INSTRUMENTS
        if code not in SCORERS
    ]
    errors += [
        Error(line, hint="Register it in outcomes/instruments/scoring/functions.py.",
              id="instruments.E002")
        for line in unregistered_functions()
    ]
    return errors
