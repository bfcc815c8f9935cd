from django.urls import path, re_path

from exchange import api, views

urlpatterns = [
    path("exports/", views.exports, name="exports"),
    path("api/", api.api_root, name="api_root"),
    path("api/cases/", api.CaseStatusList.as_view(), name="api_cases"),
    path("api/schema/", api.ApiSchema.as_view(), name="api_schema"),
    path("api/docs/", api.ApiDocs.as_view(url_name="api_schema"), name="api_docs"),
    # Last: any other address under /api/ ending in a slash, a JSON 404. One without its slash (/api/cases) is not
    # caught here, so that Django still redirects it to its address with the slash.
    re_path(r"^api/(?P<rest>.*/)$", api.api_not_found, name="api_not_found"),
]
