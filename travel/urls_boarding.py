"""The day of travel's addresses. `/departures/<code>/boarding/` (name `travel_boarding`) is a contract: the
manifest prints a QR code of `/departures/<code>/boarding/?case=<case number>` for each family."""

from django.urls import path

from travel import views_boarding as views

urlpatterns = [
    path("fit-to-travel-overrides/", views.override, name="travel_override"),
    path("fit-to-travel-overrides/<id:override_id>/withdraw/", views.override_revoke, name="travel_override_revoke"),
    path("<str:code>/boarding/", views.boarding_view, name="travel_boarding"),
    path("<str:code>/boarding/mark/", views.boarding_mark, name="travel_boarding_mark"),
    path("<str:code>/boarding/decide/", views.boarding_decide, name="travel_boarding_decide"),
    path("<str:code>/boarding/splits/<id:split_id>/", views.boarding_split, name="travel_boarding_split"),
    path("<str:code>/boarding/close/", views.boarding_close, name="travel_boarding_close"),
    path("<str:code>/arrival/", views.arrival, name="travel_arrival"),
    path("<str:code>/incidents/new/", views.incident, name="travel_incident"),
]
