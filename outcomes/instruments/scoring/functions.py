"""Registered scoring functions: what a definition file's ``"method": "registered"`` names.

SPEC 3.6: where the methods cannot express a score, "a registered scoring function of the
same shape". Each takes the score's items' answered values, by item code (every item
answered: a registered score's ``max_missing`` is 0), and returns an exact number or a
text. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from . import eq5d


@dataclass(frozen=True)
class RegisteredFunction:
    """A scoring function a definition may name, with what it needs and gives.

    ``items`` are the item codes it reads, in order (a definition's score must list
    exactly these); ``returns`` "number" or "text".
    """

    name: str
    compute: Callable[[Mapping[str, int]], Fraction | int | str]
    items: tuple[str, ...]
    returns: str = "number"


FUNCTIONS: dict[str, RegisteredFunction] = {}
"""Every registered scoring function, by name."""


def register_function(function: RegisteredFunction) -> RegisteredFunction:
    """Register ``function`` by its name; a name means one function, so refuse another."""
    known = FUNCTIONS.get(function.name)
    if known is not None and known != function:
        raise ValueError(f"a scoring function {function.name!r} is registered already")
    FUNCTIONS[function.name] = function
    return function


for _function in (
    RegisteredFunction("eq5d3l_state", eq5d.health_state, eq5d.DIMENSIONS, returns="text"),
    RegisteredFunction("eq5d3l_index_uk", eq5d.state_index_uk, eq5d.DIMENSIONS),
    RegisteredFunction("eq5d3l_index_us", eq5d.state_index_us, eq5d.DIMENSIONS),
):
    register_function(_function)

__all__ = ["FUNCTIONS", "RegisteredFunction", "register_function"]
