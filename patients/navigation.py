"""The staff navigation bar: a study's sections, each shown only to who may open it.

A section's permission is read from the view behind its URL (the ``access``
attribute ``outcomes.access.requires`` sets), so the bar never offers a link
that would answer 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import resolve, reverse


@dataclass(frozen=True)
class Section:
    label: str
    url_name: str
    # Pages that belong to the section without being its page (aria-current="true").
    members: frozenset[str] = frozenset()


SECTIONS = (
    Section("Worklists", "patients:dashboard"),
    Section("Patients", "patients:patient-list",
            frozenset({"patients:patient", "patients:outcomes", "patients:enrol",
                       "patients:visit-entry", "patients:contact", "response-correct",
                       "response-void"})),
    Section("Results", "patients:results"),
    Section("Responders", "patients:responders"),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: str  # "page" for the page itself, "true" inside its section, else ""


def study_links(user, study, view_name: str) -> list[NavLink]:
    """Return the study's sections that ``user`` may open, marking the current one."""
    links = []
    for section in SECTIONS:
        url = reverse(section.url_name, kwargs={"code": study.code})
        permission = getattr(resolve(url).func, "access", None)
        if permission is None or not user.has_perm(permission):
            continue
        current = ("page" if view_name == section.url_name
                   else "true" if view_name in section.members else "")
        links.append(NavLink(section.label, url, current))
    return links
