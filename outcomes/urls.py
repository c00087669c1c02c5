"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from outcomes.access import verified
from outcomes.instruments import views as instrument_views

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/two-factor/", views.two_factor, name="two-factor"),
    # Before Django's own: a session stopped at the second factor must not change the password.
    path("accounts/password_change/", verified("one's own password")(
        auth_views.PasswordChangeView.as_view()), name="password_change"),
    path("accounts/password_change/done/", verified("one's own password")(
        auth_views.PasswordChangeDoneView.as_view()), name="password_change_done"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("s/", include("outcomes.survey.urls")),
    path("studies/", include("patients.urls")),
    path("staff/responses/<int:pk>/correct/", instrument_views.correct, name="response-correct"),
    path("staff/responses/<int:pk>/void/", instrument_views.void, name="response-void"),
]
