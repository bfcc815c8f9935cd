"""The admin reads departures; it changes them only through `travel.services`, as the pages do.

Departures, legs, bookings and their history are read-only here. The actions below call the same services as
the departure page (so they check, lock and log the same way). Destination rules are data and may be edited by
those allowed to change them.
"""

from django.contrib import admin, messages

from movements.access import access_for, visible_cases
from movements.admin import ReadOnlyMixin, ReadsLoggedMixin
from travel import services
from travel.access import visible_departures
from travel.models import (
    BoardingLogEntry, Booking, Departure, DepartureLogEntry, DestinationRule, EscortProfile, FitToTravelOverride,
    Incident, Leg, ManifestDownload, Passenger, RuleException, SplitRequest, TravelExclusion,
)


class LegInline(ReadOnlyMixin, admin.TabularInline):
    model = Leg
    extra = 0
    fields = ("number", "carrier", "flight_number", "vehicle", "plate", "driver", "seats", "origin", "origin_tz",
              "departs_at", "destination", "destination_tz", "arrives_at")
    readonly_fields = fields


class BookingInline(ReadOnlyMixin, admin.TabularInline):
    model = Booking
    extra = 0
    fields = ("case", "status", "booked_by", "booked_at", "cancelled_at")
    readonly_fields = fields
    show_change_link = True


class LogInline(ReadOnlyMixin, admin.TabularInline):
    model = DepartureLogEntry
    extra = 0
    fields = ("at", "actor", "action", "summary", "reason")
    readonly_fields = fields
    ordering = ("-at", "-id")

    def get_fields(self, request, obj=None):
        # Without clearance details: no reasons, and nobody named (who held a case tells what kind of hold it was).
        fields = list(super().get_fields(request, obj))
        return fields if access_for(request.user).can_see_clearance_details else [
            f for f in fields if f not in ("reason", "actor")]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


def _run(modeladmin, request, queryset, service, done):
    for departure in queryset:
        try:
            service(departure, by=request.user)
        except services.TravelError as e:
            modeladmin.message_user(request, f"{departure.code}: {e.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{departure.code} {done}.", messages.SUCCESS)


@admin.action(description="Open for booking", permissions=["change"])
def open_for_booking(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.open_departure, "opened for booking")


@admin.action(description="Make final (lock the passenger list)", permissions=["change"])
def make_final(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.finalise_departure, "made final")


class DeparturesOfUserMixin:
    """Only the departures this user may open on the pages (`visible_departures`: an escort's own), and the records
    of those departures: staff status must not show an escort every flight with its PNR, legs and families."""

    departure_path = "departure"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            **{f"{self.departure_path}__in": visible_departures(request.user).values("pk")})


@admin.register(Departure)
class DepartureAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, admin.ModelAdmin):
    departure_path = "pk"
    case_path = "bookings__case__case_number"  # its bookings and log name the families
    list_display = ("code", "mode", "state", "departure_date", "destination_country", "final_destination",
                    "seat_block")
    list_filter = ("state", "mode", "destination_country")
    search_fields = ("code", "pnr", "final_destination")
    date_hierarchy = "departure_date"
    fields = ("code", "mode", "state", "destination_country", "final_destination", "pnr", "seat_block", "escorts",
              "departs_at", "departure_date", "arrives_at", "arrival_date", "notes", "version", "created_at",
              "created_by")
    readonly_fields = fields
    inlines = [LegInline, BookingInline, LogInline]
    actions = [open_for_booking, make_final]

    def has_add_permission(self, request):
        return False  # planned on the departures page, through the same service

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # One departure's page here is for reading; the actions (which ask without an object) need the permission.
        return obj is None and super().has_change_permission(request)


@admin.register(Booking)
class BookingAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("case", "departure", "status", "booked_at", "cancelled_at")
    list_filter = ("status",)
    search_fields = ("case__case_number", "departure__code")
    list_select_related = ("case", "departure")
    fields = ("departure", "case", "status", "booked_by", "booked_at", "cancelled_by", "cancelled_at", "cancel_reason")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if access_for(request.user).can_see_clearance_details else [
            f for f in fields if f != "cancel_reason"]


@admin.register(Passenger)
class PassengerAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    case_path, person_path = "booking__case__case_number", "person_id"
    list_display = ("person", "departure", "booking", "active")
    list_filter = ("active",)
    search_fields = ("person__search_text", "departure__code")
    list_select_related = ("person", "departure", "booking")


@admin.register(TravelExclusion)
class TravelExclusionAdmin(ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    person_path = "person_id"
    list_display = ("person", "case", "excluded_at", "lifted_at")
    list_select_related = ("person", "case")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(case__in=visible_cases(request.user).values("pk"))

    def get_fields(self, request, obj=None):
        fields = ["case", "person", "excluded_by", "excluded_at", "lifted_by", "lifted_at"]
        if access_for(request.user).can_see_clearance_details:
            fields[2:2] = ["reason"]
            fields.append("lift_reason")
        return fields


@admin.register(RuleException)
class RuleExceptionAdmin(DeparturesOfUserMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("departure", "rule", "granted_by", "recorded_by", "recorded_at")
    list_select_related = ("departure", "recorded_by")


@admin.register(DepartureLogEntry)
class DepartureLogEntryAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    case_path = "departure__bookings__case__case_number"
    list_display = ("at", "departure", "actor", "action", "summary")
    list_filter = ("action",)
    search_fields = ("departure__code",)
    list_select_related = ("departure",)

    def get_fields(self, request, obj=None):
        if access_for(request.user).can_see_clearance_details:
            return ["departure", "at", "user", "actor", "action", "summary", "reason", "data"]
        return ["departure", "at", "action", "summary", "data"]  # nobody named: who held a case tells the hold's kind

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if access_for(request.user).can_see_clearance_details else [f for f in shown if f != "actor"]


@admin.register(DestinationRule)
class DestinationRuleAdmin(admin.ModelAdmin):
    list_display = ("country", "max_refugees_per_flight", "no_arrival_weekdays", "no_arrival_on_holidays",
                    "notification_working_days", "exception_request_working_days")

    def has_delete_permission(self, request, obj=None):
        return False


# --- the day of travel: read here, changed only through travel.boarding --------------------------------------------


@admin.register(BoardingLogEntry)
class BoardingLogEntryAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    person_path = "person_id"
    list_display = ("at", "departure", "person", "from_status", "to_status", "actor")
    list_filter = ("to_status",)
    search_fields = ("departure__code", "case__case_number")
    list_select_related = ("departure", "person")
    fields = ("departure", "case", "person", "at", "user", "actor", "from_status", "to_status", "reason",
              "request_id", "data")


@admin.register(Incident)
class IncidentAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    case_path, person_path = "people__case__case_number", "people"
    list_display = ("at", "departure", "kind", "place", "actor")
    list_filter = ("kind",)
    search_fields = ("departure__code",)
    list_select_related = ("departure",)
    fields = ("departure", "kind", "at", "place", "people", "note", "reported_by", "actor", "recorded_at")


@admin.register(SplitRequest)
class SplitRequestAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("departure", "case", "status", "requested_by", "decided_by")
    list_filter = ("status",)
    list_select_related = ("departure", "case", "requested_by", "decided_by")
    fields = ("departure", "case", "staying", "reason", "status", "requested_by", "requested_at", "decided_by",
              "decided_at", "decision_note")


@admin.register(FitToTravelOverride)
class FitToTravelOverrideAdmin(DeparturesOfUserMixin, ReadsLoggedMixin, ReadOnlyMixin, admin.ModelAdmin):
    case_path, person_path = "person__case__case_number", "person_id"
    list_display = ("departure", "person", "recorded_by", "recorded_at", "revoked_at")
    list_select_related = ("departure", "person", "recorded_by")

    def get_fields(self, request, obj=None):
        fields = ["departure", "person", "recorded_by", "recorded_at", "revoked_by", "revoked_at"]
        if access_for(request.user).can_see_medical:  # the reason is medical
            fields[2:2] = ["reason"]
            fields.append("revoke_reason")
        return fields


@admin.register(EscortProfile)
class EscortProfileAdmin(admin.ModelAdmin):
    """Escorts' phones, printed on the manifests of their departures."""

    list_display = ("user", "phone")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    raw_id_fields = ("user",)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(ManifestDownload)
class ManifestDownloadAdmin(DeparturesOfUserMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "departure", "document", "status", "actor", "passengers")
    list_filter = ("document", "status")
    search_fields = ("departure__code", "actor")
    list_select_related = ("departure",)
