import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from outcomes.access import IMPORT_INSTRUMENT
from outcomes.admin_scope import ScopedAdmin, ScopedTabularInline

from .definitions import DefinitionError
from .definitions.base import InstrumentDefinition
from .definitions.fhir import questionnaire
from .definitions.files import decode_definition, dump_definition
from .models import Instrument, ResponderRule, ResponderStatus, Response, Score
from .scheduled import BETTER, has_items, study_scores
from .selectors import instrument_document
from .services import import_instrument_definition
from .stored import WITHOUT_DEFINITION, UndefinedInstrument, definition_of

MAX_FILE_BYTES = 2 * 1024 * 1024
"""A definition file is text: the largest in the library (EQ-5D-5L's value sets) is
under 1 MB."""


class DefinitionFileForm(forms.Form):
    """One definition file (JSON) to import, and why, for the audit trail."""

    file = forms.FileField(
        label="Definition file",
        help_text="A JSON definition file as docs/instruments.md describes (SPEC 3.6). It is "
                  "checked whole: any problem refuses it and nothing is stored.")
    reason = forms.CharField(
        label="Reason", required=False, max_length=300,
        help_text="Optional, kept in the audit trail: e.g. 'PHQ-9 for the knee study'.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes: a definition "
                                        f"file is at most {MAX_FILE_BYTES:,}.")
        raw = upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(f"{upload.name}: not UTF-8 text ({error.reason} at "
                                        f"byte {error.start}).") from None
        try:
            return upload.name, decode_definition(text, upload.name)
        except DefinitionError as refused:
            raise forms.ValidationError(f"{refused.problems[0]}.") from None


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    """The instrument versions, to read: each is its definition file.

    A new instrument, or a new version of one, comes from its file ("Import instrument
    file", for data managers: ``import_view``), checked whole as ``import_instrument``
    checks it. "Add instrument" here once saved a name with no questions, which a time
    point could then schedule and the patient's link could not show: nothing is added
    or edited here by hand (a correction is a new version, imported).
    """

    list_display = ("code", "version", "title", "questions", "scoring_version")
    fields = ("code", "version", "title", "short_title", "scoring_version", "questions",
              "licence", "source")
    readonly_fields = fields
    change_list_template = "admin/instruments/instrument/change_list.html"
    # The version's file read as a document (selectors.instrument_document), not its JSON.
    change_form_template = "admin/instruments/instrument/change_form.html"

    def has_add_permission(self, request):
        return False  # from a file only: import_view

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Questions")
    def questions(self, obj):
        if not has_items(obj):
            return "None yet: it cannot be scheduled"
        return len(obj.definition["items"])

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view),
                 name="instruments_instrument_import"),
            path("<int:pk>/file/", self.admin_site.admin_view(self.file_view),
                 name="instruments_instrument_file"),
            path("<int:pk>/questionnaire/", self.admin_site.admin_view(self.questionnaire_view),
                 name="instruments_instrument_questionnaire"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context = {**(extra_context or {}), "document": instrument_document(obj)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def _downloadable(self, request, pk: int) -> tuple[Instrument, InstrumentDefinition]:
        """The version to download, as the page showing it is allowed (404 without a file)."""
        obj = self.get_object(request, str(pk))
        if obj is None:
            raise Http404("No such instrument version.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        try:
            return obj, definition_of(obj)
        except UndefinedInstrument as error:
            raise Http404(str(error)) from None

    def file_view(self, request, pk: int):
        """The version's definition file, as ``export_instrument`` writes it."""
        obj, definition = self._downloadable(request, pk)
        return _attachment(dump_definition(definition), f"{obj.code}-{obj.version}.json")

    def questionnaire_view(self, request, pk: int):
        """The version's R4 Questionnaire, as ``export_instrument --format fhir`` writes it."""
        obj, definition = self._downloadable(request, pk)
        return _attachment(json.dumps(questionnaire(definition), ensure_ascii=False, indent=2),
                           f"{obj.code}-{obj.version}-questionnaire.json",
                           content_type="application/fhir+json")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}),
                         "can_import": request.user.has_perm(IMPORT_INSTRUMENT)}
        return super().changelist_view(request, extra_context=extra_context)

    def import_view(self, request):
        """Import one definition file: stored whole, or refused with a line per problem."""
        if not request.user.has_perm(IMPORT_INSTRUMENT):
            raise PermissionDenied
        problems: list[str] = []
        form = DefinitionFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            name, data = form.cleaned_data["file"]
            reason = form.cleaned_data["reason"].strip()
            try:
                done = import_instrument_definition(
                    data=data, actor=request.user,
                    reason=f"imported from {name}" + (f": {reason}" if reason else ""))
            except DefinitionError as refused:
                problems = refused.problems
            else:
                instrument = done.instrument
                said = {"created": "was imported", "replaced": "replaced its earlier "
                        "content (it had no responses)",
                        "metadata": "has responses: only its metadata was "
                                    "updated (" + ", ".join(done.changed) + ")",
                        "unchanged": "is stored with this content already: nothing changed"}
                messages.success(request, f"{instrument.short_title} version "
                                          f"{instrument.version} {said[done.action]}.")
                return redirect(reverse("admin:instruments_instrument_change",
                                        args=[instrument.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import instrument file",
            "opts": self.model._meta,
            "form": form,
            "problems": problems,
            "file_name": form.cleaned_data["file"][0] if problems else "",
        }
        return TemplateResponse(request, "admin/instruments/instrument/import.html", context,
                                status=400 if problems or form.errors else 200)


def _attachment(text: str, name: str, *, content_type: str = "application/json"):
    reply = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    reply["Content-Disposition"] = f'attachment; filename="{name}"'
    return reply


class ScoreInline(ScopedTabularInline):
    model = Score
    extra = 0
    readonly_fields = ("code", "value", "exact", "scoring_version")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Response)
class ResponseAdmin(ScopedAdmin):
    ordering = ("visit__enrolment__patient__code", "visit__target_date", "instrument__code")
    list_display = ("visit", "instrument", "state", "source", "completed_at")
    list_filter = ("state", "source", "instrument__code")
    search_fields = ("visit__enrolment__patient__code",)
    list_select_related = ("visit__enrolment__patient", "visit__timepoint", "instrument")
    readonly_fields = ("visit", "instrument", "answers", "state", "source", "started_at",
                       "completed_at", "entered_by", "supersedes")
    inlines = [ScoreInline]

    def get_queryset(self, request):
        # A list of responses needs each instrument's name, not its whole file.
        return super().get_queryset(request).defer(*WITHOUT_DEFINITION)

    def has_delete_permission(self, request, obj=None):
        # Responses are never deleted, only corrected or voided with a reason.
        return False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only here (no Save button): corrections and voids, with their reason,
        # are made on the correction page.
        return False


class ResponderRuleForm(forms.ModelForm):
    """A rule's score, from its study's; a combination's parts, of the same study.

    The score is chosen from those the study's scheduled instruments produce, by name
    and key (``ResponderRule.clean`` refuses any other; the direction, left blank, is
    the score's own). ``responders.evaluate_all`` refuses a rule that includes itself
    (directly or through its parts) or a part whose code the study does not know:
    saved, such a rule made every completed questionnaire of the study fail.
    """

    class Meta:
        model = ResponderRule
        fields = ("study", "code", "description", "score", "direction", "kind", "threshold",
                  "parts", "order")
        help_texts = {
            "score": "One of the scores the study's scheduled instruments produce; empty "
                     "for an 'all' or 'any' combination.",
            "direction": "Leave blank to take it from the score: a decrease where lower is "
                         "better, an increase where higher is.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "score" in self.fields:
            self.fields["score"] = forms.ChoiceField(
                label="Score", required=False, choices=self._score_choices(),
                help_text=self.fields["score"].help_text)
        if "direction" in self.fields:
            self.fields["direction"].choices = [("", "— the score's own —"),
                                                *ResponderRule.Direction.choices]

    def _score_choices(self) -> list:
        """The scores of each study the form may pick, grouped by study; the current kept."""
        study_field = self.fields.get("study")
        if self.instance.study_id is not None:
            studies = [self.instance.study]
        elif study_field is not None:
            studies = list(study_field.queryset)
        else:
            studies = []
        groups, known = [], set()
        for study in studies:
            scores = study_scores(study)
            known.update(scores)
            options = [(key, f"{score.choice_label}, {BETTER[score.direction]}")
                       for key, score in scores.items()]
            if options:
                groups.append((study.code, options))
        # One study: its scores as a plain list; several: a group each.
        choices = groups[0][1] if len(groups) == 1 and len(studies) == 1 else groups
        current = self.instance.score
        if current and current not in known:
            # A rule saved before the check: shown as it is, and refused until changed.
            choices = [*choices, (current, f"{current} (no scheduled instrument gives it)")]
        return [("", "— none (for a combination) —"), *choices]

    def clean(self):
        cleaned = super().clean()
        parts = list(cleaned.get("parts") or [])
        study = cleaned.get("study") or getattr(self.instance, "study", None)
        strangers = sorted(p.code for p in parts if study is not None and p.study_id != study.pk)
        if strangers:
            self.add_error("parts", f"Parts must be rules of {study.code}: "
                                    f"{', '.join(strangers)} belong to another study.")
        elif self.instance.pk is not None:
            loop = _path_back(self.instance.pk, parts)
            if loop:
                self.add_error("parts", "A combination cannot include itself: "
                                        + " → ".join([self.instance.code, *loop]) + ".")
        return cleaned


def _path_back(rule_id: int, parts) -> list[str]:
    """Return the codes leading from one of ``parts`` back to rule ``rule_id``; [] if none."""
    through = ResponderRule.parts.through.objects
    seen: set[int] = set()
    stack = [(part.pk, [part.code]) for part in parts]
    while stack:
        pk, path = stack.pop()
        if pk == rule_id:
            return path
        if pk in seen:
            continue
        seen.add(pk)
        for child, code in through.filter(from_responderrule_id=pk).values_list(
                "to_responderrule_id", "to_responderrule__code"):
            stack.append((child, [*path, code]))
    return []


@admin.register(ResponderRule)
class ResponderRuleAdmin(ScopedAdmin):
    form = ResponderRuleForm
    ordering = ("study__code", "order", "code")
    list_display = ("code", "study", "score", "direction", "kind", "threshold", "primary")
    list_filter = ("study", "kind")
    search_fields = ("code", "description")
    # Checkboxes, not filter_horizontal: its widget puts aria-label on a plain <span>
    # (axe: aria-prohibited-attr), and a study has a handful of these.
    checkbox_fields = ("parts",)

    def get_queryset(self, request):
        from patients.models import PrimaryComparison

        return super().get_queryset(request).annotate(primary=Exists(
            PrimaryComparison.objects.filter(rule=OuterRef("pk"))))

    @admin.display(boolean=True, ordering="primary",
                   description="In a primary comparison (set on the study's page)")
    def primary(self, rule) -> bool:
        return rule.primary


@admin.register(ResponderStatus)
class ResponderStatusAdmin(ScopedAdmin):
    ordering = ("enrolment__patient__code", "timepoint__target_day", "rule__order")
    list_display = ("enrolment", "timepoint", "rule", "verdict", "reason", "change")
    list_filter = ("verdict", "rule__code", "timepoint__code")
    list_select_related = ("enrolment__patient", "timepoint", "rule")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
