from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "outcomes.analysis"
    label = "analysis"
    verbose_name = "Results"
