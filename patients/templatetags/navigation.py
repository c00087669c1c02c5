"""``{% study_nav_links as links %}``: the staff navigation bar's study sections."""

from __future__ import annotations

from django import template

from patients.navigation import study_links

register = template.Library()


@register.simple_tag(takes_context=True)
def study_nav_links(context) -> list:
    """Return the current study's sections for the signed-in user (none off a study page)."""
    request = context.get("request")
    study = context.get("study")
    user = getattr(request, "user", None)
    if study is None or user is None or not user.is_authenticated:
        return []
    match = getattr(request, "resolver_match", None)
    return study_links(user, study, match.view_name if match else "")
