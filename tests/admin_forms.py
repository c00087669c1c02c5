"""Admin pages as a browser posts them back, for tests that change set-up in the admin."""

from __future__ import annotations

from django.urls import reverse


def admin_form_data(page) -> dict:
    """An admin change page's form as the browser would post it back (inlines included)."""
    data = {}
    forms = [page.context["adminform"].form,
             *[f for formset in page.context["inline_admin_formsets"]
               for f in formset.formset.forms]]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None:
                continue
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            else:
                data[form.add_prefix(name)] = value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
