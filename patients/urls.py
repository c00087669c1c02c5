from django.urls import path

from outcomes.analysis.views import (
    export,
    patient_outcomes_page,
    responder_list_page,
    results_page,
)

from . import views

app_name = "patients"

urlpatterns = [
    path("<str:code>/", views.dashboard, name="dashboard"),
    path("<str:code>/enrol/", views.enrol, name="enrol"),
    path("<str:code>/alerts/<int:alert_id>/acknowledge/", views.acknowledge,
         name="acknowledge-alert"),
    path("<str:code>/results/", results_page, name="results"),
    path("<str:code>/exports/<slug:kind>.csv", export, name="export"),
    path("<str:code>/exports/<slug:kind>.<slug:suffix>", export, name="export-file"),
    path("<str:code>/responders/", responder_list_page, name="responders"),
    path("<str:code>/patients/", views.patient_list, name="patient-list"),
    path("<str:code>/patients/<str:patient_code>/", views.patient, name="patient"),
    path("<str:code>/patients/<str:patient_code>/outcomes/", patient_outcomes_page,
         name="outcomes"),
    path("<str:code>/patients/<str:patient_code>/status/", views.change_status, name="status"),
    path("<str:code>/patients/<str:patient_code>/index-date/", views.move_index_date,
         name="index-date"),
    path("<str:code>/patients/<str:patient_code>/visits/<int:visit_id>/resend/", views.resend,
         name="resend"),
    path("<str:code>/patients/<str:patient_code>/visits/<int:visit_id>/enter/",
         views.visit_entry, name="visit-entry"),
    path("<str:code>/patients/<str:patient_code>/contact/", views.edit_contact,
         name="contact"),
]
