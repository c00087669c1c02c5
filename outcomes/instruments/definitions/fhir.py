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

``definition_from_questionnaire`` goes the other way, as far as the format allows: an R4
Questionnaire's items as a starting definition file, its scores to be added.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .base import InstrumentDefinition, Item
from .files import DefinitionError, _parse

FHIR_BASE = "http://outcomes.invalid/fhir"
"""The base of our canonical URLs, code systems and entry URLs: the same on every
deployment (``.invalid`` is reserved, RFC 2606: it can never be someone else's server)."""
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ENTRY_FORMAT = "http://hl7.org/fhir/StructureDefinition/entryFormat"
NOT_APPLICABLE = f"{FHIR_BASE}/StructureDefinition/not-applicable"
"""Our extension on an ``answerOption``: ``valueBoolean`` true marks an answer that is not
a score ("Not applicable / I don't drive"). R4 has no element for it; the option itself
stays an ordinary coding, so any form shows and stores it as given."""

DEFINITION_REQUIRED = f"{FHIR_BASE}/StructureDefinition/definition-required"
"""Our extension: the item's ``required`` in the definition file, written where the
Questionnaire's ``required`` differs (an item a score lets be blank, the ODI's sections),
so a Questionnaire read back gives the file's items exactly."""


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


def _answer_option(definition: InstrumentDefinition, item: Item, option) -> dict:
    entry: dict = {"valueCoding": {"system": option_system(definition.code, item.code),
                                   "version": definition.version, "code": str(option.value),
                                   "display": option.label}}
    if option.not_applicable:
        entry["extension"] = [{"url": NOT_APPLICABLE, "valueBoolean": True}]
    return entry


def _enable_when(definition: InstrumentDefinition, item: Item) -> dict:
    """Return an item's ``enable_when`` as R4 ``enableWhen`` (and ``enableBehavior``).

    "=" with several answers is one ``=`` each under ``any``; "!=" is "answered"
    (``exists`` true) and one ``!=`` each under ``all`` (our "!=" needs an answer, which
    R4's alone does not say); "exists" is ``exists`` with ``answerBoolean``.
    """
    condition = item.enable_when
    if condition is None:
        return {}
    ref = definition.item(condition.item)

    def answer(value: int) -> dict:
        if ref.kind == "choice":
            label = next(o.label for o in ref.options if o.value == value)
            return {"answerCoding": {"system": option_system(definition.code, ref.code),
                                     "code": str(value), "display": label}}
        return {"answerInteger": value}

    if condition.operator == "exists":
        return {"enableWhen": [{"question": ref.code, "operator": "exists",
                                "answerBoolean": condition.exists}]}
    tests = [{"question": ref.code, "operator": condition.operator, **answer(value)}
             for value in condition.answers]
    if condition.operator == "!=":
        tests.insert(0, {"question": ref.code, "operator": "exists", "answerBoolean": True})
    out: dict = {"enableWhen": tests}
    if len(tests) > 1:
        out["enableBehavior"] = "any" if condition.operator == "=" else "all"
    return out


def _item(definition: InstrumentDefinition, item: Item, required: bool) -> dict:
    entry: dict = {"linkId": item.code, "text": item.text, "required": required,
                   **_enable_when(definition, item)}
    if item.kind == "choice":
        entry["type"] = "choice"
        entry["answerOption"] = [_answer_option(definition, item, option)
                                 for option in item.options]
        return entry
    entry["type"] = "integer"
    extensions = [{"url": MIN_VALUE, "valueInteger": item.min_value},
                  {"url": MAX_VALUE, "valueInteger": item.max_value}]
    if item.options:
        extensions.append({"url": ENTRY_FORMAT, "valueString": "; ".join(
            f"{option.value} = {option.label}" for option in item.options)})
    entry["extension"] = extensions
    return entry


def _kept_required(entry: dict, item: Item) -> dict:
    if entry["required"] != item.required:
        entry.setdefault("extension", []).append(
            {"url": DEFINITION_REQUIRED, "valueBoolean": item.required})
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
        "item": [_kept_required(_item(definition, item, item.code in required), item)
                 for item in definition.items],
    }
    if definition.source:
        resource["description"] = definition.source
    return resource




# -- back: an R4 Questionnaire as a starting definition -----------------------------------

def _code_of(text: str) -> str:
    """A definition code from a FHIR name or linkId: lower case, letters, digits, '_'."""
    kept = "".join(c if c.isascii() and c.isalnum() else "_" for c in text.strip().lower())
    kept = "_".join(part for part in kept.split("_") if part)[:32]
    return kept if kept[:1].isalpha() else f"q_{kept}"[:32]


def _extension(item: Mapping, url: str, kind: str):
    for extension in item.get("extension") or ():
        if isinstance(extension, Mapping) and extension.get("url") == url:
            return extension.get(kind)
    return None


def _anchors(text: object) -> list[dict]:
    """``"0 = No pain; 10 = Worst possible pain"`` (our ``entryFormat``) as options."""
    found = []
    for part in str(text or "").split(";"):
        value, sep, label = part.partition("=")
        if sep and value.strip().lstrip("-").isdigit() and label.strip():
            found.append({"value": int(value), "label": label.strip()})
    return found


def _named(here: str, item: Mapping) -> str:
    """An item as a note names it: its linkId and the start of its wording, on one line
    (``linkId 'a1' ("Do you smoke?")``); where it has no linkId, its place."""
    link = str(item.get("linkId") or "").strip()
    text = " ".join(str(item.get("text") or "").split())
    if len(text) > 60:
        text = text[:57].rstrip() + "..."
    named = f"linkId {link!r}" if link else f"the item at {here} (no linkId)"
    return f'{named} ("{text}")' if text else named


def _flat_items(items, notes: list[str], path: str = "item", under: str | None = None):
    """Yield ``(here, item, under)`` for each item a definition could hold, in order.

    Groups are read through (a group's own ``enableWhen`` or ``repeats`` is noted, not
    carried). A question's own child items (R4 lets a question have sub-questions) follow
    it, ``under`` naming it, so the caller notes each.
    """
    for number, item in enumerate(items or ()):
        here = f"{path}[{number}]"
        if not isinstance(item, Mapping):
            notes.append(f"{here}: not an object: left out")
            continue
        children = item.get("item")
        if item.get("type") == "group":
            if item.get("enableWhen"):
                notes.append(f"group {_named(here, item)}: its enableWhen is left out (a "
                             "definition file has no conditional groups): its questions are "
                             "asked always; give each an enable_when if they depend on it")
            if item.get("repeats") is True:
                notes.append(f"group {_named(here, item)}: repeats, but a definition file "
                             "asks each question once: its questions are read once")
            yield from _flat_items(children, notes, f"{here}.item", under)
            continue
        yield here, item, under
        if children:
            yield from _flat_items(children, notes, f"{here}.item", _named(here, item))


def _options(here: str, item: Mapping, notes: list[str]) -> list[dict] | None:
    options = []
    for option in item.get("answerOption") or ():
        not_applicable = isinstance(option, Mapping) and _extension(
            option, NOT_APPLICABLE, "valueBoolean") is True
        coding = option.get("valueCoding") if isinstance(option, Mapping) else None
        if isinstance(option, Mapping) and type(option.get("valueInteger")) is int:
            value, label = option["valueInteger"], str(option["valueInteger"])
        elif isinstance(coding, Mapping) and str(coding.get("code", "")).lstrip("-").isdigit():
            value = int(coding["code"])
            label = coding.get("display") or str(coding["code"])
        else:
            notes.append(f"{here}: left out: an answer option is not a number (a "
                         "definition file stores a number as the answer)")
            return None
        options.append({"value": value, "label": label,
                        **({"not_applicable": True} if not_applicable else {})})
    return options


def _test_value(test: Mapping):
    """The answer an enableWhen compares with, as a number (None if it is not one)."""
    if type(test.get("answerInteger")) is int:
        return test["answerInteger"]
    coding = test.get("answerCoding")
    if isinstance(coding, Mapping) and str(coding.get("code", "")).lstrip("-").isdigit():
        return int(coding["code"])
    return None


def _condition(here: str, item: Mapping, codes: Mapping[str, str],
               left_out: Collection[str], notes: list[str]) -> dict | None:
    """Read an item's ``enableWhen`` back as an ``enable_when`` (None: none, or noted).

    The shapes ``questionnaire`` writes: one test; several ``=`` of one question under
    ``any``; ``exists`` true and several ``!=`` of one question under ``all``.
    """
    tests = item.get("enableWhen")
    if not tests:
        return None
    if not isinstance(tests, list) or not all(isinstance(t, Mapping) for t in tests):
        notes.append(f"{here}: enableWhen is not a list of tests: the condition is left out")
        return None
    questions = {str(t.get("question") or "") for t in tests}
    operators = [t.get("operator") for t in tests]
    behaviour = item.get("enableBehavior")
    unmatched = f"{here}: this enableWhen has no counterpart in a definition file (one " \
               "earlier question, =, != or exists): the condition is left out; the item is " \
               "asked always"
    if len(questions) == 1 and next(iter(questions)) in left_out:
        notes.append(f"{here}: its enableWhen asks about linkId {next(iter(questions))!r}, "
                     "which is left out: the condition is left out; the item is asked always")
        return None
    if len(questions) != 1 or next(iter(questions)) not in codes:
        notes.append(unmatched)
        return None
    ref = codes[next(iter(questions))]
    if len(tests) == 1 and operators[0] == "exists" and isinstance(
            tests[0].get("answerBoolean"), bool):
        return {"item": ref, "operator": "exists", **(
            {} if tests[0]["answerBoolean"] else {"answer": False})}
    if len(tests) == 1 or (behaviour == "any" and set(operators) == {"="}):
        wanted = operators[0] if len(tests) == 1 else "="
        values = [_test_value(t) for t in tests]
        if wanted in ("=", "!=") and None not in values:
            answer = values[0] if len(values) == 1 else values
            return {"item": ref, **({"operator": "!="} if wanted == "!=" else {}),
                    "answer": answer}
    if behaviour == "all" and operators[:1] == ["exists"] and tests[0].get(
            "answerBoolean") is True and set(operators[1:]) == {"!="}:
        values = [_test_value(t) for t in tests[1:]]
        if None not in values:
            return {"item": ref, "operator": "!=",
                    "answer": values[0] if len(values) == 1 else values}
    notes.append(unmatched)
    return None


def _item_entry(named: str, item: Mapping, code: str, link: str, notes: list[str]
                ) -> dict | None:
    """An item's entry, its kind and answers (None, with a note, where it is left out)."""
    kind = item.get("type")

    def left_out(why: str) -> None:
        notes.append(f"{named}: left out: {why}")

    if kind == "display":
        return left_out("text shown to the patient, not a question (type display)")
    if item.get("readOnly") is True:
        return left_out("read-only (shown or calculated, not answered by the patient)")
    if item.get("repeats") is True:
        return left_out("it takes several answers (repeats), and a definition file has one "
                        "answer per item (a yes/no item per answer can stand for it)")
    entry: dict = {"code": code, "text": str(item.get("text") or link), "kind": ""}
    if kind == "choice" or (kind == "coding" and item.get("answerOption")):
        if item.get("answerValueSet") and not item.get("answerOption"):
            return left_out(f"its answers are the value set {str(item['answerValueSet'])!r}: "
                            "write them as the item's options")
        options = _options(named, item, notes)
        if options is None:
            return None
        if not options:
            return left_out("a choice without answer options")
        entry.update(kind="choice", options=options)
    elif kind == "integer":
        low = _extension(item, MIN_VALUE, "valueInteger")
        high = _extension(item, MAX_VALUE, "valueInteger")
        if low is None or high is None:
            return left_out("an integer without minValue and maxValue has no range")
        entry.update(kind="scale", min=low, max=high)
        anchors = _anchors(_extension(item, ENTRY_FORMAT, "valueString"))
        if anchors:
            entry["options"] = anchors
    else:
        return left_out(f"type {kind!r} has no counterpart in a definition file (choice and "
                        "integer items only)")
    return entry


def _parsed_items(items: list[dict], names: Mapping[str, str], notes: list[str]
                  ) -> list[dict]:
    """The items the definition format accepts (``parse_definition``'s checks), each other
    left out with a note quoting the problem (a scale whose ``min`` is not below ``max``,
    a range over 1,000, a condition's answer the item it asks about does not have ...):
    the starting definition is refused for nothing but what the notes say to fill in."""
    items = list(items)
    while items:
        try:
            _parse({"code": "draft", "version": "1", "title": "draft", "short_title": "draft",
                    "licence": "draft", "source": "draft", "items": items, "scores": []},
                   None)
        except DefinitionError as refused:
            wrong = {}
            for problem in refused.problems:
                place, _, said = problem.partition(": ")
                number = place.removeprefix("items[").partition("]")[0]
                if place.startswith("items[") and number.isdigit():
                    key = place.partition("]")[2].lstrip(".")
                    wrong.setdefault(int(number), f"{key}: {said}" if key else said)
            if not wrong:
                return items
            for number in sorted(wrong):
                code = items[number]["code"]
                notes.append(f"{names.get(code, code)}: left out: a definition file refuses "
                             f"it ({wrong[number]})")
            items = [item for number, item in enumerate(items) if number not in wrong]
        else:
            return items
    return items


def _version(resource: Mapping, notes: list[str]) -> str:
    """The Questionnaire's version as a definition's (letters, digits, '.', '-', '_',
    starting with a letter or digit, at most 16): changed, with a note, where it is not."""
    given = resource.get("version")
    if given is None or not str(given).strip():
        notes.append("version: not in the Questionnaire: written as '1.0'; check it")
        return "1.0"
    given = str(given)
    kept = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-"
                   for c in given.strip())
    kept = "-".join(part for part in kept.split("-") if part).lstrip("._-")[:16]
    kept = kept.rstrip("._-") or "1.0"
    if kept != given:
        notes.append(f"version: {given!r} is not a version a definition file takes (letters, "
                     f"digits, '.', '-' or '_', at most 16): written as {kept!r}; check it")
    return kept


def definition_from_questionnaire(resource: Mapping) -> tuple[dict, list[str]]:
    """Return a starting definition file from an R4 Questionnaire, and notes on it.

    Its items, as far as the definition format holds them: a ``choice`` item whose answer
    options are numbers (codes ``"0"``, ``"1"`` ..., or integers) becomes a choice; an
    ``integer`` item with ``minValue`` and ``maxValue`` a scale (its ``entryFormat``
    anchors kept); ``required`` as it says (as our ``DEFINITION_REQUIRED`` extension says,
    where it has one); ``enableWhen`` in the shapes ``questionnaire`` writes as
    ``enable_when``, and our not-applicable extension on an answer option as
    ``not_applicable``; groups are read through, and a question's own sub-questions follow
    it as items of their own. Anything else is left out, each with a note naming its
    linkId: text shown (``display``) and ``readOnly`` items, an item taking several
    answers (``repeats``), a choice whose answers are an ``answerValueSet``. A version the
    format does not take is made one, with a note, and an item the format would refuse
    (``parse_definition``'s checks) is left out with its problem quoted, so the file is
    refused for nothing the notes do not ask for. A Questionnaire carries no scoring, so
    ``scores`` is empty: the notes say to add them (the file is refused until then).
    """
    notes: list[str] = []
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Questionnaire":
        raise ValueError("not a FHIR Questionnaire (resourceType must be 'Questionnaire')")
    name = str(resource.get("name") or resource.get("id") or "questionnaire")
    title = " ".join(str(resource.get("title") or name).split())
    version = _version(resource, notes)
    items = []
    seen: set[str] = set()
    codes: dict[str, str] = {}  # linkId → item code, of the items read so far
    left_out: set[str] = set()  # linkIds of the items left out
    names: dict[str, str] = {}  # item code → the item as a note names it
    for here, item, under in _flat_items(resource.get("item"), notes):
        link = str(item.get("linkId") or "")
        code = _code_of(link or here)
        named = _named(here, item)
        entry = _item_entry(named, item, code, link, notes)
        if entry is not None and code in seen:
            notes.append(f"{named}: left out: it gives the item code {code!r}, which an "
                         "earlier item has")
            entry = None
        if entry is None:
            left_out.add(link)
            continue
        kept = _extension(item, DEFINITION_REQUIRED, "valueBoolean")
        if (kept if isinstance(kept, bool) else item.get("required")) is not True:
            entry["required"] = False
        condition = _condition(named, item, codes, left_out, notes)
        if condition is not None:
            entry["enable_when"] = condition
        if under is not None:
            notes.append(f"{named}: a sub-question of {under}: it follows it as an item of "
                         "its own, asked "
                         + ("as its enableWhen says" if condition is not None else
                            "always (give it an enable_when if it depends on the answer)"))
        if code != link:
            notes.append(f"{named}: written as the item code {code!r}")
        seen.add(code)
        codes[link] = code
        names[code] = named
        items.append(entry)
    items = _parsed_items(items, names, notes)
    definition = {
        "code": _code_of(name), "version": version,
        "title": title[:200], "short_title": title[:50],
        "licence": str(resource.get("copyright") or ""),
        "source": str(resource.get("description") or resource.get("url")
                      or resource.get("publisher") or ""),
        "items": items, "scores": [],
    }
    if len(title) > 50:
        notes.append(f"short_title: the title cut to 50 characters ({title[:50]!r}): "
                     "shorten it as people should read it")
    if not items:
        notes.append("items: no item of the Questionnaire could be carried over: write them")
    for key in ("licence", "source"):
        if not definition[key]:
            notes.append(f"{key}: not in the Questionnaire: fill it in")
    notes.append("scores: a Questionnaire has no scoring: add the scores (docs/instruments.md)")
    return definition, notes


__all__ = ["FHIR_BASE", "computable_name", "definition_from_questionnaire", "fhir_id",
           "instrument_url", "option_system", "questionnaire", "required_by_definition"]
