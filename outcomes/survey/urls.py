from django.urls import path

from . import views

app_name = "survey"

urlpatterns = [
    path("<str:token>/", views.start, name="start"),
    path("<str:token>/<int:number>/", views.step, name="step"),
    path("<str:token>/done/", views.done, name="done"),
]
