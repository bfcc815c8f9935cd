from django.urls import path

from privacy import views

urlpatterns = [
    path("", views.access_log_page, name="privacy_access_log"),
    path("subjects/", views.subject_page, name="privacy_subject"),
    path("subjects/record.pdf", views.subject_download, {"extension": "pdf"}, name="privacy_subject_pdf"),
    path("subjects/record.json", views.subject_download, {"extension": "json"}, name="privacy_subject_json"),
    path("retention/", views.retention_page, name="privacy_retention"),
    path("retention/apply/", views.retention_apply, name="privacy_retention_apply"),
]
