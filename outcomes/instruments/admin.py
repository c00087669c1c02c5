from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef

from outcomes.admin_scope import ScopedAdmin, ScopedTabularInline

from .models import Instrument, ResponderRule, ResponderStatus, Response, Score
from .scheduled import BETTER, has_items, study_scores


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    """The instrument versions, to read: their content comes from their definitions.

    An instrument's questions are its definition (synced on every migrate); "Add
    instrument" here saved a name with no questions, which a time point could then
    schedule and the patient's link could not show. Until an instrument can be added
    from its definition file, none is added or edited here.
    """

    list_display = ("code", "version", "title", "questions", "scoring_version")
    fields = ("code", "version", "title", "short_title", "scoring_version", "questions",
              "licence", "source", "definition")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Questions")
    def questions(self, obj):
        if not has_items(obj):
            return "None yet: it cannot be scheduled"
        return len(obj.definition["items"])


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
