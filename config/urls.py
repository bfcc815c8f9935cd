from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("orientation/", include("orientation.urls")),
    path("departures/", include("travel.urls")),
    path("", include("movements.urls")),
]

handler400 = "movements.views.errors.bad_request"
handler403 = "movements.views.errors.permission_denied"
handler404 = "movements.views.errors.page_not_found"
handler500 = "movements.views.errors.server_error"
