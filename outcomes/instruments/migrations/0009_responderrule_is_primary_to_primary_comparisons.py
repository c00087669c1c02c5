"""A rule's ``is_primary`` flag gives way to the study's primary comparisons.

A rule is primary only at a time point (SPEC section 8): ``patients.PrimaryComparison``
says which, and is now the one place that does. Each rule flagged primary that is in
none of its study's primary comparisons becomes one, at the study's last follow-up time
point (the latest target day that is not the baseline), after the study's own; a study
without a follow-up time point has nothing to compare at, and its flag is dropped.
Backwards, the flag is set again on every rule of a primary comparison.
"""

from django.db import migrations, models


def flags_to_comparisons(apps, schema_editor):
    ResponderRule = apps.get_model("instruments", "ResponderRule")
    PrimaryComparison = apps.get_model("patients", "PrimaryComparison")
    TimePoint = apps.get_model("followups", "TimePoint")
    for rule in ResponderRule.objects.filter(is_primary=True).order_by("study_id", "order",
                                                                          "code"):
        if PrimaryComparison.objects.filter(study_id=rule.study_id, rule=rule).exists():
            continue
        last = (TimePoint.objects.filter(study_id=rule.study_id, is_baseline=False)
                .order_by("-target_day", "-pk").first())
        if last is None:
            continue
        after = (PrimaryComparison.objects.filter(study_id=rule.study_id)
                 .aggregate(models.Max("order"))["order__max"])
        PrimaryComparison.objects.create(study_id=rule.study_id, rule=rule, timepoint=last,
                                         order=0 if after is None else after + 1)


def comparisons_to_flags(apps, schema_editor):
    ResponderRule = apps.get_model("instruments", "ResponderRule")
    PrimaryComparison = apps.get_model("patients", "PrimaryComparison")
    ResponderRule.objects.filter(
        pk__in=PrimaryComparison.objects.values("rule_id")).update(is_primary=True)


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0007_reminder_once_not_counting_cancelled"),
        ("instruments", "0008_response_not_scorable"),
        ("patients", "0006_study_reference_arm_and_primary_comparisons"),
    ]

    operations = [
        migrations.RunPython(flags_to_comparisons, comparisons_to_flags),
        migrations.RemoveField(model_name="responderrule", name="is_primary"),
    ]
