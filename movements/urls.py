from django.urls import path

from movements.views import cases, dashboard

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("cases/", cases.case_list, name="case_list"),
    path("cases/new/", cases.case_create, name="case_create"),
    path("cases/<str:case_number>/", cases.case_detail, name="case_detail"),
    path("cases/<str:case_number>/edit/", cases.case_edit, name="case_edit"),
    path("cases/<str:case_number>/transition/", cases.case_transition, name="case_transition"),
    path(
        "cases/<str:case_number>/members/<int:person_id>/documents/",
        cases.person_documents,
        name="person_documents",
    ),
]
