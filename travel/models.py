"""Departures (by air or by road), their legs, the cases booked on them and the destination rules they keep.

Nothing here is changed but through `travel.services`, which locks the departure row, checks, writes a
`DepartureLogEntry` with a data payload and raises coded `TravelError`s. A departure's schedule columns
(`departs_at`, `departure_date`, `arrives_at`, `arrival_date`) are derived from its legs by the same services, so
lists can sort, filter and count passengers by age on the departure date in SQL.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition
from phonenumber_field.modelfields import PhoneNumberField

from movements.countries import COUNTRY_CHOICES, country_name
from movements.models import AppendOnlyModel, Case, Person


class Mode(models.TextChoices):
    AIR = "air", "By air"
    ROAD = "road", "By road"


class DepartureState(models.TextChoices):
    PLANNED = "planned", "Planned"
    OPEN = "open", "Open for booking"
    FINAL = "final", "Final (passenger list locked)"
    DEPARTED = "departed", "Departed"
    ARRIVED = "arrived", "Arrived"
    CANCELLED = "cancelled", "Cancelled"


D = DepartureState

# Still ahead of us: what the departure board shows unless asked otherwise.
UPCOMING_STATES = (D.PLANNED, D.OPEN, D.FINAL)
# Legs, seats, escorts and the PNR may change; a final departure is reopened first (with a reason).
EDITABLE_STATES = (D.PLANNED, D.OPEN)

pnr_validator = RegexValidator(r"^[A-Z0-9]{6}$", "A record locator (PNR) is six capital letters or digits, e.g. K7Q2XM.")


class Departure(FSMModelMixin, models.Model):
    code = models.CharField(max_length=30, unique=True, editable=False,
                            help_text="Said on the phone: DEP-20261209-YYZ (date of the first leg, final stop).")
    mode = models.CharField(max_length=4, choices=Mode.choices)
    state = FSMField(default=D.PLANNED, choices=DepartureState.choices, protected=True, db_index=True)
    destination_country = models.CharField(max_length=3, choices=COUNTRY_CHOICES)
    final_destination = models.CharField("final destination (city)", max_length=100)
    escorts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="escorted_departures")
    pnr = models.CharField("group record locator (PNR)", max_length=6, blank=True, validators=[pnr_validator])
    seat_block = models.PositiveSmallIntegerField(
        "seats held", help_text="Air: the seats the airline holds for us. Road: the vehicles' seats, added up.")
    notes = models.TextField(blank=True)

    # Derived from the legs by the services (see the module docstring); never edited by hand.
    departs_at = models.DateTimeField(editable=False)
    departure_date = models.DateField(editable=False, db_index=True,
                                      help_text="Local date of the first leg's departure, where it leaves.")
    arrives_at = models.DateTimeField(editable=False)
    arrival_date = models.DateField(editable=False, help_text="Local date of the arrival at the final stop.")

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["departure_date", "departs_at", "code"]
        indexes = [models.Index(fields=["state", "departure_date"])]
        permissions = [
            ("view_all_departures", "Can see every departure (escorts see only their own)"),
            ("book_case", "Can book cases on departures, cancel bookings and exclude members from travel"),
            ("board_departure", "Can record boarding, no-shows, incidents and arrival of the departures they see"),
        ]

    def __str__(self):
        return self.code

    def delete(self, *args, **kwargs):
        raise ValidationError("Departures are never deleted; cancel the departure instead.", code="departure_delete")

    @property
    def destination_name(self):
        """“Canada” (a dictionary look-up, not the choices scan of get_destination_country_display)."""
        return country_name(self.destination_country)

    @property
    def is_air(self):
        return self.mode == Mode.AIR

    @property
    def is_editable(self):
        return self.state in EDITABLE_STATES

    # --- the life of a departure, in one place (services perform these under the row lock) ---

    @transition(field=state, source=D.PLANNED, target=D.OPEN)
    def open(self):
        pass

    @transition(field=state, source=D.OPEN, target=D.FINAL)
    def finalise(self):
        pass

    @transition(field=state, source=D.FINAL, target=D.OPEN)
    def reopen(self):
        pass

    @transition(field=state, source=D.FINAL, target=D.DEPARTED)
    def depart(self):
        pass

    @transition(field=state, source=D.DEPARTED, target=D.ARRIVED)
    def arrive(self):
        pass

    @transition(field=state, source=[D.PLANNED, D.OPEN, D.FINAL], target=D.CANCELLED)
    def cancel(self):
        pass


class Leg(models.Model):
    """One leg, in order. Air: a flight between two airports (IATA codes, times in each airport's own time zone).
    Road: one vehicle's run between two places (a convoy of two vehicles has two legs)."""

    departure = models.ForeignKey(Departure, on_delete=models.CASCADE, related_name="legs")
    number = models.PositiveSmallIntegerField()
    origin = models.CharField("from", max_length=100, help_text="Air: IATA airport code. Road: a place.")
    destination = models.CharField("to", max_length=100, help_text="Air: IATA airport code. Road: a place.")
    # IANA zones of the two ends (from airportsdata for airports; chosen for road places): local times are shown
    # in them, and the dates that rules read (departure day, arrival day) are taken in them.
    origin_tz = models.CharField(max_length=64)
    destination_tz = models.CharField(max_length=64)
    departs_at = models.DateTimeField()
    arrives_at = models.DateTimeField()
    # air
    carrier = models.CharField(max_length=3, blank=True, help_text="IATA airline designator, e.g. TK.")
    flight_number = models.CharField(max_length=5, blank=True, help_text="e.g. 255.")
    # road
    vehicle = models.CharField(max_length=100, blank=True, help_text="e.g. Bus (Yutong, white).")
    plate = models.CharField("number plate", max_length=20, blank=True)
    driver = models.CharField(max_length=100, blank=True)
    seats = models.PositiveSmallIntegerField("seats for passengers", null=True, blank=True)

    class Meta:
        ordering = ["departure", "number"]
        constraints = [models.UniqueConstraint(fields=["departure", "number"], name="one_leg_number_per_departure")]

    def __str__(self):
        return f"Leg {self.number} ({self.label})"

    @property
    def flight(self):
        return f"{self.carrier} {self.flight_number}".strip()

    @property
    def label(self):
        """How messages name the leg: "TK 255 DYU→IST" or "Bus 01 234 AA Khorog→Dushanbe"."""
        what = self.flight if self.carrier else " ".join(p for p in (self.vehicle, self.plate) if p)
        return f"{what} {self.origin}→{self.destination}".strip()

    def local_departure(self):
        return timezone.localtime(self.departs_at, _zone(self.origin_tz))

    def local_arrival(self):
        return timezone.localtime(self.arrives_at, _zone(self.destination_tz))


def _zone(name):
    import zoneinfo

    return zoneinfo.ZoneInfo(name)


class BookingStatus(models.TextChoices):
    ACTIVE = "active", "Booked"
    CANCELLED = "cancelled", "Cancelled"


class Booking(models.Model):
    """A case on a departure. It stays active once the case has left (it is the booking the family flew on)."""

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="bookings")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=10, choices=BookingStatus.choices, default=BookingStatus.ACTIVE)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    booked_at = models.DateTimeField(default=timezone.now)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    # The case's confirmed arrival: when it reached the final destination (the final leg's arrival, unless the
    # person confirming said otherwise), and that moment's local date there.
    arrived_at = models.DateTimeField(null=True, blank=True)
    arrival_date = models.DateField(null=True, blank=True)
    arrival_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                             on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["booked_at", "id"]
        constraints = [
            # Two officers booking one family onto two departures at once: the database lets one through.
            models.UniqueConstraint(fields=["case"], condition=Q(status="active"), name="one_active_booking_per_case"),
        ]

    def __str__(self):
        return f"{self.case} on {self.departure}"

    @property
    def is_active(self):
        return self.status == BookingStatus.ACTIVE


class BoardingStatus(models.TextChoices):
    """A passenger's mark on the day of travel (the escort's tap)."""

    WAITING = "waiting", "Waiting"
    BOARDED = "boarded", "Boarded"
    NO_SHOW = "no_show", "No-show"


class Passenger(models.Model):
    """A member of a booked case who travels (the members not excluded when the case was booked). Seats are
    counted from these rows, under the departure's row lock. On the day, the escort's mark (`boarding`) is kept
    here; every change of it is a `BoardingLogEntry` (travel.boarding)."""

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="passengers")
    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="passengers")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="passages")
    active = models.BooleanField(default=True)
    boarding = models.CharField(max_length=10, choices=BoardingStatus.choices, default=BoardingStatus.WAITING)
    boarding_marked_at = models.DateTimeField(null=True, blank=True)
    boarding_marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["booking", "person"]
        indexes = [models.Index(fields=["departure", "active"])]
        constraints = [
            models.UniqueConstraint(fields=["person"], condition=Q(active=True), name="one_seat_per_person"),
        ]

    def __str__(self):
        return f"{self.person} on {self.departure}"


class TravelExclusion(models.Model):
    """A member of a case who does not travel with it (a split decision), with the reason and who decided."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="travel_exclusions")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="travel_exclusions")
    reason = models.TextField()
    excluded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    excluded_at = models.DateTimeField(default=timezone.now)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["excluded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["person"], condition=Q(lifted_at__isnull=True),
                                    name="one_open_exclusion_per_person"),
        ]

    def __str__(self):
        return f"{self.person} excluded from travel"


def default_no_arrival_weekdays():
    return []


def default_weekend():
    return [6, 7]


class DestinationRule(models.Model):
    """What a destination country asks of every departure to it (DOMAIN.md, "Travel and manifests"). Data, not
    code: Canada's row is seeded by a migration; another country is a new row."""

    country = models.CharField(max_length=3, choices=COUNTRY_CHOICES, unique=True)
    max_refugees_per_flight = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Air departures: most refugees on one flight (empty: no limit).")
    no_arrival_weekdays = models.JSONField(
        default=default_no_arrival_weekdays, blank=True,
        help_text="ISO weekday numbers (1 Monday … 7 Sunday) on which refugees may not arrive, e.g. [5, 6, 7].")
    no_arrival_on_holidays = models.BooleanField(
        default=False, help_text="No arrival on a statutory holiday of the final destination's province or state.")
    weekend = models.JSONField(default=default_weekend, blank=True,
                               help_text="ISO weekday numbers that are not working days, e.g. [6, 7].")
    notification_working_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The notification of arrival is due this many working days before arrival.")
    exception_request_working_days = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="A request to carry more than the limit is due this many working days before arrival.")
    source = models.CharField(max_length=200, blank=True, help_text="Where the rule comes from, e.g. IRCC REF-OVS-8-2.")

    class Meta:
        ordering = ["country"]

    def __str__(self):
        return f"Destination rules for {self.country}"


class RuleCode(models.TextChoices):
    """The destination rules an exception can lift (nothing else can be overridden)."""

    MAX_REFUGEES = "max_refugees", "More refugees than the limit per flight"
    ARRIVAL_DAY = "arrival_day", "Arrival on a day the destination does not receive refugees"


class RuleException(AppendOnlyModel):
    """An exception to a destination rule for one departure: which rule, why, and who granted it."""

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="rule_exceptions")
    rule = models.CharField(max_length=20, choices=RuleCode.choices)
    reason = models.TextField()
    granted_by = models.CharField(max_length=200, help_text="Who granted it, e.g. IRCC Resettlement Operations Centre.")
    reference = models.CharField(max_length=100, blank=True, help_text="The grant's reference, if any.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self):
        return f"{self.departure}: exception to {self.rule}"

    SHORT = {RuleCode.MAX_REFUGEES: "more than the limit", RuleCode.ARRIVAL_DAY: "arrival day"}

    @property
    def short(self):
        return self.SHORT.get(self.rule, self.rule)


# What a departure's history says changed its passenger list: a booked case put on hold or withdrawn, a booking
# cancelled, a member excluded or included again, a family left behind, a family travelling split.
CHANGE_ACTIONS = ("released", "unbooked", "member_excluded", "member_included", "stays_behind", "split")


class DepartureLogEntry(AppendOnlyModel):
    """Append-only history of a departure: who, when, what (an action and its data), why."""

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="log")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=30)
    summary = models.TextField()
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "departure log entries"

    def __str__(self):
        return f"{self.departure} {self.action}: {self.summary}"

    # How the departure's history names an action: in words, as the case timeline names its transitions.
    ACTION_LABELS = {"open": "opened", "made_final": "made final", "reopen": "reopened", "cancel": "cancelled",
                     "depart": "departed", "arrive": "arrived", "fit_to_travel_override": "fit-to-travel override"}

    @property
    def action_label(self):
        return self.ACTION_LABELS.get(self.action, self.action.replace("_", " "))

    def shown_actor(self, access):
        """Who this entry names for a viewer: seats released by a hold name "IOM staff" to those who may not read
        clearance details (who held the case tells what kind of hold it was: history.shown_actor, on a case's
        timeline)."""
        if (self.action == "released" and (self.data or {}).get("transition") == "hold"
                and not access.can_see_clearance_details):
            from movements.history import NEUTRAL_ACTOR

            return NEUTRAL_ACTOR
        return self.actor

    def data_items(self):
        """The payload as (label, text) pairs, as the case timeline shows its rows' data."""
        items = []
        for key, value in (self.data or {}).items():
            if isinstance(value, (list, tuple)):
                value = "; ".join(str(v) for v in value)
            elif isinstance(value, dict):
                value = "; ".join(f"{k}: {v}" for k, v in value.items())
            items.append((self.DATA_LABELS.get(key) or key.replace("_", " ").capitalize(), str(value)))
        return items

    DATA_LABELS = {"pnr": "PNR", "apd": "APD"}



# --- the day of travel (services in travel.boarding) ------------------------------------------------------------


class BoardingLogEntry(AppendOnlyModel):
    """Every change of a passenger's boarding mark: who, when, from, to, why, and the request that made it.

    A request id (a token the boarding page puts in each form, with the passenger and the mark) is stored once
    per departure: a double tap or a retried request finds it and changes nothing."""

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="boarding_log")
    passenger = models.ForeignKey(Passenger, on_delete=models.PROTECT, related_name="boarding_log")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=200)
    from_status = models.CharField(max_length=10, choices=BoardingStatus.choices)
    to_status = models.CharField(max_length=10, choices=BoardingStatus.choices)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=120, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "boarding log entries"
        constraints = [
            models.UniqueConstraint(fields=["departure", "request_id"], condition=~Q(request_id=""),
                                    name="one_boarding_mark_per_request"),
        ]

    def __str__(self):
        return f"{self.person} on {self.departure}: {self.from_status} → {self.to_status}"

    @property
    def is_undo(self):
        return self.to_status == BoardingStatus.WAITING


class FitToTravelOverride(models.Model):
    """Medical staff's written decision that a traveller may board one departure without a passing fit-to-travel
    check within the window (the check could not be done, or was done otherwise). The reason is medical: only the
    medical role reads it; escorts and operations see that an override exists, by whom and when."""

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="fit_to_travel_overrides")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="fit_to_travel_overrides")
    reason = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["departure", "person"], condition=Q(revoked_at__isnull=True),
                                    name="one_open_fit_to_travel_override"),
        ]

    def __str__(self):
        return f"Fit-to-travel override for {self.person} on {self.departure}"


class SplitStatus(models.TextChoices):
    PENDING = "pending", "Waiting for operations"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"


class SplitRequest(models.Model):
    """At boarding, a family with a no-show asks to travel without them. The escort asks, with a reason;
    operations approve (or refuse) it before boarding closes. Asked by an operations officer, it is approved at
    once. Approved, the no-shows are excluded from travel and their seats freed."""

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="split_requests")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="split_requests")
    staying = models.ManyToManyField(Person, related_name="+", help_text="The no-shows who stay behind.")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=SplitStatus.choices, default=SplitStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["departure", "case"], condition=Q(status="pending"),
                                    name="one_pending_split_per_case"),
        ]

    def __str__(self):
        return f"Split of {self.case} on {self.departure} ({self.status})"

    @property
    def is_pending(self):
        return self.status == SplitStatus.PENDING


class IncidentKind(models.TextChoices):
    NO_SHOW = "no_show", "No-show"
    OFFLOADED = "offloaded", "Offloaded"
    MEDICAL = "medical", "Medical event"
    MISSED_CONNECTION = "missed_connection", "Missed connection"
    OTHER = "other", "Other"


class Incident(AppendOnlyModel):
    """Something that happened on the way: a short, append-only log per departure, shown on its page and on the
    timeline of each concerned case. The note is read by operations and escorts: never a diagnosis."""

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="incidents")
    kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True, help_text="When it happened.")
    place = models.CharField(max_length=100, help_text="An airport (IATA code) or a vehicle.")
    people = models.ManyToManyField(Person, blank=True, related_name="incidents")
    note = models.TextField(blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=200)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.departure}: {self.get_kind_display()} at {self.place}"


class EscortProfile(models.Model):
    """What a manifest prints about an escort beyond their name: the phone they carry on the journey."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="escort_profile")
    phone = PhoneNumberField("phone on the journey", blank=True,
                             help_text="Printed on the manifest beside the escort's name, e.g. +992 93 123 4567.")

    class Meta:
        verbose_name = "escort's phone"
        verbose_name_plural = "escorts' phones"

    def __str__(self):
        return f"Phone of {self.user}"


class PrintedDocument(models.TextChoices):
    MANIFEST = "manifest", "Manifest (PDF)"
    APD = "apd", "Advance passenger data (CSV)"
    APD_XLSX = "apd_xlsx", "Advance passenger data (XLSX)"


class ManifestDownload(AppendOnlyModel):
    """Every manifest or advance passenger data file that left Safar: who, when, and whether the passenger list
    was final (a DRAFT may still change; a FINAL one is what the escort carries)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "DRAFT"
        FINAL = "final", "FINAL"
        CANCELLED = "cancelled", "CANCELLED"

    departure = models.ForeignKey(Departure, on_delete=models.PROTECT, related_name="downloads")
    document = models.CharField(max_length=10, choices=PrintedDocument.choices, default=PrintedDocument.MANIFEST)
    status = models.CharField(max_length=10, choices=Status.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    actor = models.CharField(max_length=200, help_text="The user's name, or the command that printed it.")
    passengers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.departure} {self.document} ({self.status}) by {self.actor}"
