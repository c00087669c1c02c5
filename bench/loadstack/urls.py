"""The app's URLs as deployed, plus ``bench/yardstick/``."""

from django.urls import path

from outcomes.urls import urlpatterns as app_urlpatterns

from . import views

urlpatterns = [
    path("bench/yardstick/", views.yardstick, name="bench-yardstick"),
    *app_urlpatterns,
]
