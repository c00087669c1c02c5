from django.apps import AppConfig


class SurveyConfig(AppConfig):
    name = "outcomes.survey"
    label = "survey"
    verbose_name = "Patient questionnaire"
