from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.health import healthz
from movements.views.accounts import LoginView, LogoutView

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    # Our own template names: the admin's password pages keep theirs (registration/password_change_*.html).
    path("accounts/password_change/",
         auth_views.PasswordChangeView.as_view(template_name="registration/change_password.html"),
         name="password_change"),
    path("accounts/password_change/done/",
         auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_changed.html"),
         name="password_change_done"),
    path("admin/", admin.site.urls),
    path("orientation/", include("orientation.urls")),
    path("", include("exchange.urls")),
    path("departures/", include("travel.urls")),
    path("privacy/", include("privacy.urls")),
    path("", include("movements.urls")),
]

handler400 = "movements.views.errors.bad_request"
handler403 = "movements.views.errors.permission_denied"
handler404 = "movements.views.errors.page_not_found"
handler500 = "movements.views.errors.server_error"
