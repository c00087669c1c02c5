"""An instrument definition as a FHIR R4 Questionnaire: the one builder (no Django).

``export_instrument --format fhir`` writes an instrument version's Questionnaire from its
definition alone; the study's FHIR Bundle (``analysis.fhir``) writes the same
Questionnaire as the study asks it (its canonical URL under the study, and the items
the study lets a patient leave blank not ``required``). Both call ``questionnaire``.

Each item is a ``choice`` (answer options as codings of a code system of the item's
own, under ``FHIR_BASE``, with the instrument version) or an ``integer`` between
``minValue`` and ``maxValue`` (the R4 core extensions), with its anchors as the
``entryFormat`` hint ("0 = No pain; 10 = Worst possible pain"): R4 has no anchor
element, and a hint is what a form shows beside the box. The definition's scores are
not in the Questionnaire: scoring is the definition file's, and the Observations the
Bundle carries are its results.
"""

from __future__ import annotations

from collections.abc import Collection

from .base import InstrumentDefinition, Item

FHIR_BASE = "http://outcomes.invalid/fhir"
"""The base of our canonical URLs, code systems and entry URLs: the same on every
deployment (``.invalid`` is reserved, RFC 2606: it can never be someone else's server)."""
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ENTRY_FORMAT = "http://hl7.org/fhir/StructureDefinition/entryFormat"


def fhir_id(code: str) -> str:
    """FHIR ids allow letters, digits, '-' and '.', at most 64 characters."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-.") else "-" for c in code)[:64]


def computable_name(text: str) -> str:
    """A computable name: starts with a capital letter, then letters, digits and '_'."""
    kept = "".join(c for c in text.title() if c.isascii() and (c.isalnum() or c == "_"))
    return kept if kept[:1].isalpha() and kept[:1].isupper() else f"Q{kept}"


def option_system(code: str, item: str) -> str:
    """The code system of one item's answer options (codes are the answer values)."""
    return f"{FHIR_BASE}/CodeSystem/{code}-{item}"


def instrument_url(code: str) -> str:
    """The canonical URL of an instrument's Questionnaire, outside any study."""
    return f"{FHIR_BASE}/Questionnaire/{code}"


def required_by_definition(definition: InstrumentDefinition) -> set[str]:
    """The items a patient must answer by the definition alone: ``required`` ones that
    no score lets be blank (a score's ``max_missing`` above 0 lets each of its items)."""
    may_be_blank = {code for score in definition.score_defs if score.max_missing > 0
                    for code in score.items}
    return {item.code for item in definition.items
            if item.required and item.code not in may_be_blank}


def _item(definition: InstrumentDefinition, item: Item, required: bool) -> dict:
    entry: dict = {"linkId": item.code, "text": item.text, "required": required}
    if item.kind == "choice":
        entry["type"] = "choice"
        entry["answerOption"] = [
            {"valueCoding": {"system": option_system(definition.code, item.code),
                             "version": definition.version, "code": str(option.value),
                             "display": option.label}}
            for option in item.options
        ]
        return entry
    entry["type"] = "integer"
    extensions = [{"url": MIN_VALUE, "valueInteger": item.min_value},
                  {"url": MAX_VALUE, "valueInteger": item.max_value}]
    if item.options:
        extensions.append({"url": ENTRY_FORMAT, "valueString": "; ".join(
            f"{option.value} = {option.label}" for option in item.options)})
    entry["extension"] = extensions
    return entry


def questionnaire(definition: InstrumentDefinition, *, resource_id: str | None = None,
                  url: str | None = None, name: str | None = None, title: str | None = None,
                  required: Collection[str] | None = None) -> dict:
    """Return the R4 Questionnaire of one instrument version.

    By default as the definition alone says (its own canonical URL, the items it
    requires); a study's Bundle passes its own URL, id, name, title and the items its
    form requires.
    """
    if required is None:
        required = required_by_definition(definition)
    resource = {
        "resourceType": "Questionnaire",
        "id": resource_id or fhir_id(f"{definition.code}-{definition.version}"),
        "url": url or instrument_url(definition.code),
        "version": definition.version,
        "name": name or computable_name(definition.code),
        "title": title or definition.title,
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": definition.licence,
        "item": [_item(definition, item, item.code in required) for item in definition.items],
    }
    if definition.source:
        resource["description"] = definition.source
    return resource


__all__ = ["FHIR_BASE", "computable_name", "fhir_id", "instrument_url", "option_system",
           "questionnaire", "required_by_definition"]
