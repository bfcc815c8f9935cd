from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse


class LoginView(auth_views.LoginView):
    """Log-in. Whoever came by the site's address (the dashboard, where log-in sends everyone back to) goes to
    their role's own work instead, as from the log-in page itself: medical staff to their work list, a trainer to
    their sessions. Any other page asked for is where log-in leads."""

    redirect_authenticated_user = True

    def get_redirect_url(self):
        url = super().get_redirect_url()
        return "" if url == reverse("dashboard") else url  # "": settings.LOGIN_REDIRECT_URL, the start page


class LogoutView(auth_views.LogoutView):
    """Log-out is a POST (a link or an image elsewhere cannot log anyone out). Someone who types or bookmarks the
    address gets the question with its button rather than a blank "405 Method Not Allowed"; when not logged in,
    the log-in page."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect("login")
        return render(request, "registration/logout_confirm.html")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # A field office's computers are shared: the browser forgets the pages it kept (case pages, lists, PDFs
        # opened) and what scripts stored, once whoever read them has logged out. Pages are sent no-store already;
        # this clears what an older copy or the back button could still show.
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response
