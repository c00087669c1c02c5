"""Blanks allowed per score (``Study.max_missing``) in place of ``Study.odi_max_missing``.

A study that allowed other than the default one unanswered ODI section keeps its
setting as ``{"odi": n}``; one on the default keeps ``{}``, which now means "what the
definition allows" (the ODI's: one section). Going back restores the number.
"""

from django.db import migrations, models

ODI_DEFAULT = 1  # the old field's default, and the ODI definition's allowance


def to_mapping(apps, schema_editor):
    Study = apps.get_model("patients", "Study")
    for study in Study.objects.exclude(odi_max_missing=ODI_DEFAULT):
        study.max_missing = {"odi": study.odi_max_missing}
        study.save(update_fields=["max_missing"])


def to_number(apps, schema_editor):
    Study = apps.get_model("patients", "Study")
    for study in Study.objects.all():
        allowed = (study.max_missing or {}).get("odi", ODI_DEFAULT)
        if allowed != ODI_DEFAULT:
            study.odi_max_missing = allowed
            study.save(update_fields=["odi_max_missing"])


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0006_study_reference_arm_and_primary_comparisons"),
    ]

    operations = [
        migrations.AddField(
            model_name="study",
            name="max_missing",
            field=models.JSONField(
                blank=True, default=dict, verbose_name="blanks allowed per score",
                help_text='Score key to the items it may leave blank, e.g. {"odi": 0}; a '
                "score left out allows what its instrument's definition does.",
            ),
        ),
        migrations.RunPython(to_mapping, to_number),
        migrations.RemoveField(model_name="study", name="odi_max_missing"),
    ]
