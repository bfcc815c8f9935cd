from django.urls import path

from orientation import views

urlpatterns = [
    path("", views.session_list, name="orientation_sessions"),
    path("suggestions/", views.suggestions, name="orientation_suggestions"),
    path("people/<id:person_id>/declined/", views.declined, name="orientation_declined"),
    path("sessions/new/", views.session_create, name="orientation_session_create"),
    path("sessions/<str:code>/", views.session_detail, name="orientation_session"),
    path("sessions/<str:code>/enrol/", views.session_enrol, name="orientation_enrol"),
    path("sessions/<str:code>/take-out/", views.session_remove, name="orientation_remove"),
    path("sessions/<str:code>/start/", views.session_state, {"action": "start"}, name="orientation_session_start"),
    path("sessions/<str:code>/close/", views.session_state, {"action": "close"}, name="orientation_session_close"),
    path("sessions/<str:code>/reopen/", views.session_state, {"action": "reopen"}, name="orientation_session_reopen"),
    path("sessions/<str:code>/days/<id:number>/", views.roll_call, name="orientation_roll_call"),
    path("sessions/<str:code>/attendance-sheet.pdf", views.attendance_sheet, name="orientation_attendance_sheet"),
    path("sessions/<str:code>/certificates/<id:person_id>.pdf", views.certificate, name="orientation_certificate"),
]
