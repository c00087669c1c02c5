"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

from outcomes.instruments import views as instrument_views

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/two-factor/", views.two_factor, name="two-factor"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("s/", include("outcomes.survey.urls")),
    path("studies/", include("patients.urls")),
    path("staff/responses/<int:pk>/correct/", instrument_views.correct, name="response-correct"),
    path("staff/responses/<int:pk>/void/", instrument_views.void, name="response-void"),
]
