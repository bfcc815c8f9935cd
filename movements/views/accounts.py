from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render


class LogoutView(auth_views.LogoutView):
    """Log-out is a POST (a link or an image elsewhere cannot log anyone out). Someone who types or bookmarks the
    address gets the question with its button rather than a blank "405 Method Not Allowed"; when not logged in,
    the log-in page."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect("login")
        return render(request, "registration/logout_confirm.html")
