"""The admin, scoped like the app: a non-superuser sees and changes only their own world.

Every model page, foreign-key and many-to-many choice, inline, autocomplete and
list-filter choice of the admin goes through ``scoped()``: patient-level rows (patients, visits,
responses, scores …) are limited to the user's sites, study-level rows (arms, time
points, responder rules …) to the studies held by those sites. An object outside
that scope does not exist for the user (the admin answers as for an unknown id).

Site membership is the key to everything else, so only an administrator
(superuser) grants it: the staff picker is not on the form for anyone else.
Changes to study set-up and to site staff are written to the audit trail with
before and after (``AuditedAdmin``), not only to Django's admin log.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.filters import AllValuesFieldListFilter, RelatedFieldListFilter
from django.contrib.admin.utils import get_fields_from_path, reverse_field_path
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.forms.utils import pretty_name
from django.utils.text import capfirst

from outcomes.audit.admin_mixins import AuditedAdmin
from outcomes.audit.services import record_change

#: model label → (what scopes it, the lookup from the model to that). "site" rows
#: belong to one site's patients; "study" rows to a study's set-up.
SCOPES: dict[str, tuple[str, str]] = {
    "patients.site": ("site", "pk"),
    "patients.study": ("study", "pk"),
    "patients.arm": ("study", "study"),
    "patients.primarycomparison": ("study", "study"),
    "patients.patient": ("site", "enrolments__site"),
    "patients.contact": ("site", "patient__enrolments__site"),
    "patients.enrolment": ("site", "site"),
    "patients.procedure": ("site", "enrolment__site"),
    "patients.injectedstructure": ("site", "procedure__enrolment__site"),
    "followups.timepoint": ("study", "study"),
    "followups.timepointinstrument": ("study", "timepoint__study"),
    "followups.visit": ("site", "enrolment__site"),
    "followups.reminder": ("site", "visit__enrolment__site"),
    "instruments.response": ("site", "visit__enrolment__site"),
    "instruments.score": ("site", "response__visit__enrolment__site"),
    "instruments.responderrule": ("study", "study"),
    "instruments.responderstatus": ("site", "enrolment__site"),
}
#: Models every staff user may pick from (instrument versions are not anyone's data).
UNSCOPED = frozenset({"instruments.instrument", "auth.user", "auth.group"})


def scoped(queryset: QuerySet, user) -> QuerySet:
    """Return ``queryset`` limited to what ``user`` may see (everything for superusers).

    A model with no declared scope is refused to non-superusers (empty), so a new
    model cannot leak through the admin before someone decides its scope.
    """
    if user.is_superuser:
        return queryset
    label = queryset.model._meta.label_lower
    if label in UNSCOPED:
        return queryset
    if label not in SCOPES:
        return queryset.none()
    from patients.selectors import sites_of, studies_for

    kind, path = SCOPES[label]
    allowed = sites_of(user) if kind == "site" else studies_for(user)
    keys = queryset.model.objects.filter(**{f"{path}__in": allowed}).values("pk")
    # A subquery on the primary key, not a join: a patient enrolled twice at the
    # user's sites is still one row, and the admin's own ordering and search apply.
    return queryset.filter(pk__in=keys)


class ScopedChoicesMixin:
    """Limit every foreign-key and many-to-many choice to the user's scope."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped(db_field.remote_field.model._default_manager.all(),
                                        request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    #: Many-to-many fields shown as a list of checkboxes (accessible, unlike
    #: filter_horizontal's widget).
    checkbox_fields: tuple[str, ...] = ()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in self.checkbox_fields:
            kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped(db_field.remote_field.model._default_manager.all(),
                                        request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedInline(ScopedChoicesMixin, admin.options.InlineModelAdmin):
    """An inline whose rows and choices are the user's own."""

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user)


class LabelledInlineFormSet(BaseInlineFormSet):
    """Inline rows whose every input has a label of its own (``aria-label``).

    A tabular inline's column headers are not tied to its cells, so each input had no
    accessible name (axe: 40 critical ``label`` violations on a study's page). Each
    now says its column and its row: "Code, time point 2"; "Delete, arm 1".
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = str(self.model._meta.verbose_name)
        where = f"{row} {index + 1}" if index is not None else f"new {row}"
        for name, field in form.fields.items():
            if field.widget.is_hidden:
                continue
            label = field.label or pretty_name(name)
            # A related field's wrapper shares its attrs with the widget it was copied
            # from: label the form's own inner widget, which is what renders.
            widget = (field.widget.widget if isinstance(field.widget, RelatedFieldWidgetWrapper)
                      else field.widget)
            widget.attrs["aria-label"] = f"{capfirst(str(label))}, {where}"


class ScopedTabularInline(ScopedInline, admin.TabularInline):
    formset = LabelledInlineFormSet


class ScopedStackedInline(ScopedInline, admin.StackedInline):
    pass


class ScopedRelatedFieldListFilter(RelatedFieldListFilter):
    """A filter on a relation (``study``, ``enrolment__site``) offering one's own rows only.

    Django's own offers every row of the related model: every study's code, every
    site's name, whoever looks.
    """

    def field_choices(self, field, request, model_admin):
        visible = scoped(field.remote_field.model._default_manager.all(), request.user)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, ordering=ordering,
                                 limit_choices_to={"pk__in": visible.values("pk")})


class ScopedAllValuesFieldListFilter(AllValuesFieldListFilter):
    """A filter on a value across a relation (``timepoint__code``): one's own values only.

    Django's own lists the values of every row of the related model.
    """

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        parent_model, _ = reverse_field_path(model, field_path)
        if parent_model is not model:
            self.lookup_choices = (
                scoped(parent_model._default_manager.all(), request.user)
                .distinct().order_by(field.name).values_list(field.name, flat=True)
            )


def scoped_list_filter(model, entry):
    """Return a ``list_filter`` entry whose choices hold only the user's scope."""
    if not isinstance(entry, str):
        return entry  # a filter class or (field, class) chosen on purpose
    field = get_fields_from_path(model, entry)[-1]
    if field.remote_field is not None:
        return (entry, ScopedRelatedFieldListFilter)
    if "__" in entry and not field.flatchoices and field.get_internal_type() not in (
            "BooleanField", "DateField", "DateTimeField"):
        return (entry, ScopedAllValuesFieldListFilter)
    return entry  # the model's own values (scoped rows) or fixed choices


def _m2m_labels(obj: Model, name: str) -> list[str]:
    return sorted(str(item) for item in getattr(obj, name).all())


class ScopedAdmin(ScopedChoicesMixin, AuditedAdmin):
    """A model admin scoped to the user's sites and studies, every change audited.

    Many-to-many links outside the user's scope (another site's staff, a study's
    other sites) are kept as they are when the user saves: the form never showed
    them, so it must not remove them either. Each many-to-many change is audited
    with the before and after lists.
    """

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user)

    def get_list_filter(self, request):
        return [scoped_list_filter(self.model, entry)
                for entry in super().get_list_filter(request)]

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        m2m = [f.name for f in obj._meta.many_to_many if f.name in form.cleaned_data]
        before, hidden = {}, {}
        if change:
            for name in m2m:
                before[name] = _m2m_labels(obj, name)
                manager = getattr(obj, name)
                visible = scoped(manager.model._default_manager.all(), request.user)
                hidden[name] = list(manager.exclude(pk__in=visible.values("pk")))
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            for name, rows in hidden.items():
                if rows:
                    getattr(obj, name).add(*rows)
            after = {name: _m2m_labels(obj, name) for name in m2m}
            if after != {name: before.get(name, []) for name in m2m}:
                record_change(obj=obj, action="update", actor=request.user,
                              before=before, after=after, reason="admin")
