"""What the boarding page and the day-of-travel parts of other pages show, loaded in a fixed number of queries
however many passengers a departure has: its passengers with their marks (one query), the overrides, the open
split requests, what changed since the list was made final. Readiness is read from each case's stored snapshot
(kept fresh by the transitions and signals of movements); marking a passenger checks it live.
"""

from dataclasses import dataclass, field
from operator import attrgetter

from django.utils import timezone

from movements import readiness
from movements.search import normalize, normalize_code
from travel import rules
from travel.board import route_of
from travel.boarding import boarding_opens_at, changes_since_final
from travel.models import (
    BoardingStatus, DepartureState, FitToTravelOverride, Incident, Leg, Passenger, SplitRequest, SplitStatus,
)

B = BoardingStatus
FILTERS = {"waiting": B.WAITING, "boarded": B.BOARDED, "no_show": B.NO_SHOW}


@dataclass
class Row:
    passenger: Passenger
    traveller: object  # rules.Traveller: age on the departure date, type on the journey's last day, SSR codes
    warnings: list = field(default_factory=list)  # what stops boarding, as this viewer may read it
    override: bool = False
    day: object = None  # the departure date, ages are taken on it

    @property
    def person(self):
        return self.passenger.person

    @property
    def status(self):
        return self.passenger.boarding

    @property
    def age_label(self):
        """"34 y", or an infant's months ("7 months"): a lap infant of 0 years reads as a mistake."""
        if self.traveller.kind != rules.INFANT:
            return f"{self.traveller.age} y"
        born, day = self.person.date_of_birth, self.day
        months = (day.year - born.year) * 12 + day.month - born.month - (day.day < born.day)
        return f"{months} month{'s' if months != 1 else ''}"


@dataclass
class Family:
    booking: object
    rows: list
    split: SplitRequest | None = None  # the split asked for and not yet decided
    refused: SplitRequest | None = None  # the last split operations refused

    @property
    def case(self):
        return self.booking.case

    @property
    def lead(self):
        """The principal applicant, else the eldest: whose name the family is found by."""
        for row in self.rows:
            if row.person.relationship == "PA":
                return row.person
        return self.rows[0].person

    def count(self, status):
        return sum(1 for row in self.rows if row.status == status)

    @property
    def seats(self):
        """The seats the family holds (a lap infant holds none): what staying behind frees."""
        return sum(1 for row in self.rows if row.traveller.takes_seat)

    @property
    def boarded(self):
        return self.count(B.BOARDED)

    @property
    def waiting(self):
        return self.count(B.WAITING)

    @property
    def no_shows(self):
        return [row.person for row in self.rows if row.status == B.NO_SHOW]

    @property
    def boards_at_once(self):
        """How many waiting members one tap boards together: all of them, when two or more wait and no check holds
        any back (0 otherwise: each is marked on their own)."""
        waiting = [row for row in self.rows if row.status == B.WAITING]
        return len(waiting) if len(waiting) >= 2 and not any(row.warnings for row in waiting) else 0

    @property
    def state(self):
        """decision (a no-show to decide), waiting, or boarded (everyone on board)."""
        if self.no_shows:
            return "decision"
        return "waiting" if self.waiting else "boarded"


@dataclass
class Sheet:
    departure: object
    legs: list
    route: str
    families: list  # the families shown (search and filter applied)
    total_families: int
    boarded: int
    no_show: int
    waiting: int
    changes: list
    q: str = ""
    case_number: str = ""
    show: str = ""
    all_families: list = field(default_factory=list)
    # Passengers who had boarded when their family was taken off the departure (stays behind, held at the gate):
    # they and their checked luggage must come off before it leaves. Shown until boarding closes, not once.
    offload: list = field(default_factory=list)

    @property
    def total(self):
        return self.boarded + self.no_show + self.waiting

    @property
    def opens_at(self):
        return boarding_opens_at(self.departure)

    @property
    def is_open(self):
        return self.departure.state == DepartureState.FINAL and timezone.now() >= self.opens_at

    @property
    def marking(self):
        return self.is_open

    @property
    def undecided(self):
        return [f for f in self.all_families if f.no_shows]

    @property
    def last_change_id(self):
        return self.changes[-1].pk if self.changes else 0

    @property
    def close_blockers(self):
        found = []
        if self.waiting:
            found.append(f"{self.waiting} passenger{'s' if self.waiting != 1 else ''} still waiting: mark each "
                         "boarded or no-show.")
        for family in self.undecided:
            names = ", ".join(p.full_name for p in family.no_shows)
            if family.split is not None:
                found.append(f"Case {family.case.case_number}: the split ({names} stay behind) waits for operations' "
                              "approval.")
            else:
                found.append(f"Case {family.case.case_number}: {names} — decide: the family stays behind, or "
                             "travels split.")
        return found


def _matches(family, words, code):
    if code and (code in family.case.case_number or code in family.case.progres_case_id):
        return True
    if not words:
        return False
    return any(all(word in row.person.search_text for word in words) for row in family.rows)


def sheet(departure, access, *, q="", case_number="", show=""):
    """The boarding page of a departure, for a viewer (`access`), searched (`q`: names in any script or a case
    number), narrowed to one family (`case_number`, as the manifest's QR code asks) or to one mark (`show`)."""
    legs = list(Leg.objects.filter(departure=departure).order_by("number"))
    passengers = list(
        Passenger.objects.filter(departure=departure, active=True)
        .select_related("person__medical_needs", "booking__case", "boarding_marked_by")
        .order_by("person__date_of_birth", "person_id")
    )
    overridden = set(FitToTravelOverride.objects.filter(departure=departure, revoked_at__isnull=True)
                     .values_list("person_id", flat=True))
    splits = {}
    refused = {}
    for split in (SplitRequest.objects.filter(departure=departure, status__in=[SplitStatus.PENDING,
                                                                               SplitStatus.REFUSED])
                  .select_related("requested_by", "decided_by").prefetch_related("staying").order_by("requested_at")):
        (splits if split.is_pending else refused)[split.case_id] = split
    ages = rules.Ages.of(departure)
    families = {}
    counts = {B.BOARDED: 0, B.NO_SHOW: 0, B.WAITING: 0}
    redacted = {}
    for pax in passengers:
        booking = pax.booking
        case = booking.case
        if case.pk not in redacted:
            redacted[case.pk] = readiness.redacted(case.blockers or [], access)
        person = pax.person
        warnings = [b["message"] for b in redacted[case.pk]
                    if b.get("person_id") in (person.pk, None) and "depart" in (b.get("gates") or ["depart"])]
        # An override recorded by medical staff is read by the fit-to-travel requirement itself: the snapshot has
        # no such blocker once it is recorded.
        row = Row(pax, ages.traveller(person, person.ssr_codes), warnings, person.pk in overridden,
                  departure.departure_date)
        families.setdefault(booking.pk, Family(booking, [], splits.get(case.pk), refused.get(case.pk))).rows.append(row)
        counts[pax.boarding] += 1
    for family in families.values():
        family.rows.sort(key=attrgetter("person.family_position"))
    ordered = sorted(families.values(), key=lambda f: (f.lead.family_name.casefold(), f.lead.given_name.casefold(),
                                                      f.case.case_number))
    shown = ordered
    case_number = normalize_code(case_number)
    if case_number:
        shown = [f for f in shown if f.case.case_number == case_number]
    words = normalize(q).split()
    code = normalize_code(q) if q.strip() else ""
    if words or code:
        shown = [f for f in shown if _matches(f, words, code)]
    if show in FILTERS:
        wanted = FILTERS[show]
        shown = [f for f in shown if f.count(wanted)]
    changes = changes_since_final(departure)
    for entry in changes:
        entry.shown_by = entry.shown_actor(access)
    offload = []
    if departure.state == DepartureState.FINAL:
        travelling = {pax.person_id for pax in passengers}
        offload = [pax for pax in Passenger.objects.filter(departure=departure, active=False, boarding=B.BOARDED)
                   .select_related("person", "booking__case").order_by("booking__case__case_number", "person_id")
                   if pax.person_id not in travelling]
    result = Sheet(departure, legs, route_of(departure, legs), shown, len(ordered), counts[B.BOARDED],
                   counts[B.NO_SHOW], counts[B.WAITING], changes, q=q.strip(),
                   case_number=case_number, show=show if show in FILTERS else "", all_families=ordered,
                   offload=offload)
    return result


def incidents(departure):
    return list(Incident.objects.filter(departure=departure).select_related("reported_by")
                .prefetch_related("people").order_by("-at", "-id"))
