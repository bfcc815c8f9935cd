from django.urls import include, path

from travel import manifest_views, views

urlpatterns = [
    path("", include("travel.urls_boarding")),  # the day of travel; before the catch-all "<code>/<action>/"
    path("", views.board, name="departure_board"),
    path("new/", views.departure_create, name="departure_create"),
    path("exclusions/new/", views.exclude_member, name="departure_exclude_member"),
    path("exclusions/<id:exclusion_id>/lift/", views.include_member, name="departure_include_member"),
    path("<str:code>/", views.departure_detail, name="departure_detail"),
    path("<str:code>/edit/", views.departure_edit, name="departure_edit"),
    path("<str:code>/manifest.pdf", manifest_views.manifest_pdf, name="departure_manifest"),
    path("<str:code>/apd.csv", manifest_views.apd, name="departure_apd"),
    path("<str:code>/apd.xlsx", manifest_views.apd, {"fmt": "xlsx"}, name="departure_apd_xlsx"),
    path("<str:code>/book/", views.book, name="departure_book"),
    path("<str:code>/bookings/<id:booking_id>/cancel/", views.cancel_booking, name="departure_cancel_booking"),
    path("<str:code>/exceptions/", views.record_exception, name="departure_record_exception"),
    path("<str:code>/<str:action>/", views.departure_action, name="departure_action"),
]
