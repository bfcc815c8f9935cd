"""The read-only status API (`/api/`): the same rows as the status export, as JSON, for partners that pull.

Cases with their members' proGres ids and the status fields of the export, filterable by `changed_since`,
`destination` and `state`, cursor-paginated on the case id (stable while cases change), token authentication
per user (session authentication for the browsable pages), throttled per user. The same roles and the same
forbidden fields as the export: nothing medical, no phone, document or visa numbers, native names or notes.
"""

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics, permissions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from exchange import travel_facts
from exchange.access import MayExportStatus
from exchange.status import FilterError, _start_of_local_day, parse_filter
from movements import reads
from movements.middleware import CONTENT_SECURITY_POLICY
from movements.models import Case, CaseState, Person


class MemberSerializer(serializers.Serializer):
    progres_individual_id = serializers.CharField()
    family_name = serializers.CharField()
    given_name = serializers.CharField()
    case_status = serializers.ChoiceField(choices=CaseState.choices, help_text="The person's own status (a member "
                                          "who stayed behind in a split case differs from the case).")


class CaseStatusSerializer(serializers.Serializer):
    case_number = serializers.CharField()
    progres_case_id = serializers.CharField()
    case_status = serializers.ChoiceField(choices=CaseState.choices)
    status_date = serializers.DateField(help_text="The date of the case's last transition (mission time).")
    departure_date = serializers.DateField(allow_null=True)
    itinerary = serializers.CharField(allow_blank=True)
    arrival_date = serializers.DateField(allow_null=True)
    destination_country = serializers.CharField()
    members = MemberSerializer(many=True)

    def to_representation(self, case):
        facts = self.context["travel"].get(case.pk) or travel_facts.TravelFacts()
        return {
            "case_number": case.case_number,
            "progres_case_id": case.progres_case_id,
            "case_status": case.state,
            "status_date": timezone.localtime(case.state_changed_at).date().isoformat(),
            "departure_date": facts.departure_date.isoformat() if facts.departure_date else None,
            "itinerary": facts.itinerary,
            "arrival_date": facts.arrival_date.isoformat() if facts.arrival_date else None,
            "destination_country": case.destination_country,
            "members": [
                {"progres_individual_id": p.progres_individual_id, "family_name": p.family_name,
                 "given_name": p.given_name,
                 "case_status": facts.stayed_behind.get(p.progres_individual_id, case.state)}
                for p in case.api_members
            ],
        }


class StatusCursor(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        """`page_size` from 1 to 500; any other value is refused (400) rather than read as the default 100."""
        given = request.query_params.get(self.page_size_query_param)
        if given is None:
            return self.page_size
        if not (given.isascii() and given.isdigit() and 1 <= int(given) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: [
                f"Give a number of cases from 1 to {self.max_page_size} (“{given[:20]}” is not one)."]})
        return int(given)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = f"Cases per page, 1 to {self.max_page_size} (100 when not given)."
        return parameters

    def decode_cursor(self, request):
        """DRF's decoding, refusing as "Invalid cursor" (404, like any cursor it cannot read) one whose position is
        not a number: DRF would hand "p=abc" to the id filter, a 500."""
        cursor = super().decode_cursor(request)
        position = None if cursor is None or cursor.position is None else str(cursor.position)
        if position is not None and not (position.isascii() and position.isdigit()):
            raise NotFound(self.invalid_cursor_message)
        return cursor


FILTERS = [
    OpenApiParameter("changed_since", OpenApiTypes.DATE, description="Cases whose rows changed on or after this "
                     "date (YYYY-MM-DD, mission time): a transition, a member excluded from travel or included again, "
                     "a member added or removed, the booked departure's flights moved."),
    OpenApiParameter("destination", OpenApiTypes.STR, description="ISO 3166-1 alpha-3, e.g. CAN."),
    OpenApiParameter("state", OpenApiTypes.STR, enum=CaseState.values),
]


# The filters, the cursor pagination's own parameters, and DRF's choice of format.
KNOWN_PARAMETERS = {p.name for p in FILTERS} | {"cursor", "page_size", "format"}


def _unknown_parameter(name):
    hint = " (the date filter is changed_since)" if name in ("since", "changed", "date") else ""
    return (f"Unknown parameter{hint}: this list takes {', '.join(sorted(p.name for p in FILTERS))}, and cursor "
            "and page_size to page through it.")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What is wrong, in words.")


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="A parameter refused: each parameter named, with a list of "
                         'messages, e.g. {"changed_since": ["“soon” is not a date: write it as YYYY-MM-DD."]}.'),
    401: OpenApiResponse(DetailSerializer, description="No token, or an unknown or revoked one."),
    403: OpenApiResponse(DetailSerializer, description="The token's user may not read the status list."),
    404: OpenApiResponse(DetailSerializer, description="A cursor that cannot be read (\"Invalid cursor\")."),
    429: OpenApiResponse(DetailSerializer, description="Past the rate limit; the Retry-After header says when."),
    503: OpenApiResponse(DetailSerializer, description="The database was busy with the same records; try again."),
}


@extend_schema(parameters=FILTERS, responses={200: CaseStatusSerializer(many=True), **ERRORS})
class CaseStatusList(generics.ListAPIView):
    """Cases and their members with their status, the same rows as the status export."""

    serializer_class = CaseStatusSerializer
    permission_classes = [permissions.IsAuthenticated, MayExportStatus]
    pagination_class = StatusCursor

    def get_queryset(self):
        params = self.request.query_params
        # A filter misspelt would be ignored and the whole list answered as if filtered: it is refused by name.
        unknown = sorted(set(params) - KNOWN_PARAMETERS)
        if unknown:
            raise ValidationError({name: [_unknown_parameter(name)] for name in unknown})
        # A filter given twice (state=booked&state=ready) would be read as its last value alone.
        repeated = sorted(name for name in params if len(params.getlist(name)) > 1)
        if repeated:
            raise ValidationError({name: ["Give this parameter once: the list takes one value of it."]
                                   for name in repeated})
        try:
            status_filter = parse_filter(params.get("destination", ""), params.get("state", ""),
                                         params.get("changed_since", ""))
        except FilterError as e:
            raise ValidationError({"changed_since" if e.field == "since" else e.field: [e.message]}) from None
        cases = Case.objects.only(
            "id", "case_number", "progres_case_id", "state", "state_changed_at", "destination_country")
        if status_filter.destination:
            cases = cases.filter(destination_country=status_filter.destination)
        if status_filter.state:
            cases = cases.filter(state=status_filter.state)
        if status_filter.since:
            # Anything its rows say that changed, not only its last transition (`Case.status_changed_at`).
            cases = cases.filter(status_changed_at__gte=_start_of_local_day(status_filter.since))
        members = Person.objects.only("id", "case_id", "progres_individual_id", "family_name", "given_name")
        return cases.prefetch_related(Prefetch("members", queryset=members.order_by("id"), to_attr="api_members"))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        reads.record(reads.Kind.API, request=request, cases=page, target=request.path,
                     detail={key: value[:200] for key, value in request.query_params.items() if key != "cursor"})
        context = {**self.get_serializer_context(), "travel": travel_facts.for_cases([c.pk for c in page])}
        serializer = self.get_serializer(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("context", {**self.get_serializer_context(), "travel": {}})
        return self.serializer_class(*args, **kwargs)


class ApiSchema(SpectacularAPIView):
    """The OpenAPI schema (YAML, or JSON with ?format=json). A refusal (not signed in, no role, an unknown format)
    is JSON, as everywhere else under /api/: the YAML renderer wrote it as `detail: string: …` / `code: …`."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class ApiDocs(SpectacularSwaggerSplitView):
    """The API's documentation page (Swagger UI, served from the app by drf-spectacular-sidecar). Its scripts come
    from our own address like every page's, but Swagger UI styles itself inline and draws its icons as data: images:
    this page alone allows those two (movements.middleware keeps a policy a view sets)."""

    # A page to read: OPTIONS would answer through the HTML renderer, which has no template for it (a 500).
    http_method_names = ["get", "head"]

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "style-src 'self'", "style-src 'self' 'unsafe-inline'").replace("img-src 'self'", "img-src 'self' data:")
        return response


@extend_schema(exclude=True)
@api_view(["GET", "HEAD"])
@permission_classes([permissions.IsAuthenticated, MayExportStatus])
def api_root(request, format=None):
    """The API's entry point: where its resources, schema and documentation are."""
    return Response({
        "cases": reverse("api_cases", request=request, format=format),
        "schema": reverse("api_schema", request=request, format=format),
        "docs": reverse("api_docs", request=request, format=format),
    })


@extend_schema(exclude=True)
@api_view(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@permission_classes([permissions.IsAuthenticated])
def api_not_found(request, *args, **kwargs):
    """Any other address under /api/: a 404 in JSON, as a program reading the API expects, not an HTML page (401
    without a token, as everywhere in the API)."""
    raise NotFound("No such address in the API: see /api/ for what there is.")
