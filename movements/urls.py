from django.urls import path

from movements.views import cases, dashboard, imports, medical

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("start/", dashboard.start, name="start"),
    path("cases/", cases.case_list, name="case_list"),
    path("cases/new/", cases.case_create, name="case_create"),
    path("cases/<str:case_number>/", cases.case_detail, name="case_detail"),
    path("cases/<str:case_number>/edit/", cases.case_edit, name="case_edit"),
    path("cases/<str:case_number>/transition/", cases.case_transition, name="case_transition"),
    path(
        "cases/<str:case_number>/members/<id:person_id>/documents/",
        cases.person_documents,
        name="person_documents",
    ),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/<id:upload_id>/", imports.import_detail, name="import_detail"),
    path("imports/<id:upload_id>/confirm/", imports.import_confirm, name="import_confirm"),
    path("imports/<id:upload_id>/discard/", imports.import_discard, name="import_discard"),
    path("medical/", medical.work_list, name="medical_work_list"),
    path("medical/people/<id:person_id>/", medical.person_record, name="medical_person"),
    path("medical/people/<id:person_id>/exams/new/", medical.exam_create, name="medical_exam_create"),
]
