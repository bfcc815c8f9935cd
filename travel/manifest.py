"""The departure manifest: the list an escort carries onto a plane or a bus and trusts, built with ReportLab platypus
on landscape A4 through `movements.pdf.Document` (the one way this project prints).

What it holds (and never: a diagnosis, a TB result, a medical class — only SSR codes and duties in words):

- on every page, a header: the departure's code, date and mode, its legs in local times, the PNR, the escorts with
  their phones, the final destination, DRAFT across the page until the departure is final (then FINAL with the
  time it was made final), and the column heads;
- on the first page, a summary: cases, passengers by type, SSR counts, unaccompanied minors, people to report to
  public health on arrival, exceptions granted;
- one row per passenger, grouped by case (a heavy rule between cases), with the special-attention note in words
  and empty boxes to tick at boarding and arrival; each case carries a QR code of the boarding page's address for
  that family, so a phone's camera opens it with no app;
- a road convoy lists its passengers per vehicle, each vehicle with a boarding box and a luggage column;
- on every page a footer ("Page X of Y", when it was made in the mission's time zone, "Confidential"), and on the
  last page the signature lines.

Speed: the story is made of small flowables — one table per case, kept on one page when it fits — never one table
of every row (platypus's page splitting grows faster than the rows). Data are loaded in a fixed number of queries
whatever the number of passengers (`load_manifest`); `manifest_rows` are the same rows the advance passenger data
(travel/apd.py) is written from.

Cases on a road convoy are assigned to vehicles by `assign_vehicles`: in the order they were booked, each whole
case to the first vehicle (leg) with seats left for it (infants on a lap take none), else to the vehicle with most
seats left (its heading then says it is over). Nothing is stored: reprinting after a change reassigns.
"""

import datetime
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, TableStyle

from movements.countries import country_name
from movements import reads
from movements.history import user_label
from movements.medical import MedicalStatus
from movements.models import DocumentType, MedicalExam, TravelDocument, TravelMedicalNeeds, family_order
from movements.pdf import (
    CONDENSED, CONDENSED_BOLD, Document, Role, ScriptText, Table, direction, draw_lines, layout, missing_scripts,
)
from movements.qr import QRFlowable
from movements.ssr import combined_ssr
from travel.legs import clock
from travel.models import CHANGE_ACTIONS, DepartureLogEntry, DepartureState, ManifestDownload, Mode, Passenger
from travel.rules import ADULT, CHILD, INFANT, Ages, age_on

logger = logging.getLogger("safar.manifest")

# --- what the rows say ----------------------------------------------------------------------------------------

ESCORT_NEEDED = "escort needed"
DUTIES = {
    # What the escort does about each SSR code, in words (mode-neutral: a plane or a bus).
    "WCHR": "wheelchair for long distances (walks a little)",
    "WCHS": "wheelchair; cannot use stairs",
    "WCHC": "wheelchair all the way to the seat (cannot walk)",
    "STCR": "stretcher — escort needed",
    "MEDA": "escort needed; MEDIF form with the carrier",
    "OXYG": "oxygen arranged with the carrier",
    "BLND": "blind or low vision — guide by the arm",
    "DEAF": "deaf or hard of hearing — show, do not call",
    "DPNA": "needs assistance and a calm guide (DPNA)",
    "MAAS": "meet and assist at each stop",
    "UMNR": "unaccompanied minor — escort needed",
}
# Who cannot be counted on to hold an infant on their lap for the flight: on a stretcher or in a wheelchair to the
# seat or up the stairs, travelling under medical care or on oxygen, needing a guide. They hold one only when no
# other traveller of the companion age is left, and the manifest then tells the escort to check.
CANNOT_HOLD = {"STCR", "WCHC", "WCHS", "MEDA", "OXYG", "BLND", "DPNA"}
DOCUMENT_SHORT = {
    DocumentType.PASSPORT: "Passport",
    DocumentType.ICRC: "ICRC TD",
    DocumentType.SINGLE_JOURNEY: "IMM 5485",
    DocumentType.CONVENTION: "Convention TD",
    DocumentType.OTHER: "Other doc.",
}


@dataclass
class ManifestRow:
    number: int
    case_number: str
    person_id: int
    progres_id: str
    family_name: str
    given_name: str
    native_name: str
    sex: str
    date_of_birth: datetime.date
    age: int
    kind: str  # adult, child or infant on the journey's last day (travel.rules)
    nationality: str
    document_type: str = ""  # DocumentType value
    document_number: str = ""
    document_country: str = ""
    document_expiry: datetime.date | None = None
    visa: str = ""
    ssr: list = field(default_factory=list)
    attention: list = field(default_factory=list)
    final_destination: str = ""
    surveillance: bool = False
    unaccompanied: bool = False

    @property
    def document_label(self):
        return DOCUMENT_SHORT.get(self.document_type, self.document_type)


@dataclass
class CaseBlock:
    case_number: str
    progres_case_id: str
    booked_at: datetime.datetime
    rows: list
    url: str = ""
    seats: int = 0


@dataclass
class Vehicle:
    leg: object
    cases: list = field(default_factory=list)

    @property
    def passengers(self):
        return sum(len(c.rows) for c in self.cases)

    @property
    def seats_taken(self):
        return sum(c.seats for c in self.cases)


@dataclass
class Manifest:
    departure: object
    legs: list
    escorts: list  # (name, phone) pairs
    exceptions: list
    status: str  # ManifestDownload.Status
    finalised_at: datetime.datetime | None
    cases: list
    changed_at: datetime.datetime | None = None  # the passenger list's last change since it was made final
    vehicles: list = field(default_factory=list)  # road: Vehicle per leg, in order
    unassigned: list = field(default_factory=list)  # road: cases no vehicle was found for (no vehicle at all)

    @property
    def rows(self):
        return [row for case in self.cases for row in case.rows]

    @property
    def is_road(self):
        return self.departure.mode == Mode.ROAD


def boarding_address(code, case_number):
    """The absolute address of the boarding page opened on one family: `/departures/<code>/boarding/?case=…`
    (DESIGN.md's contract; the url name is `travel_boarding`)."""
    path = reverse("travel_boarding", args=[code])
    return f"{settings.SAFAR_BASE_URL}{path}?{urlencode({'case': case_number})}"


def _status(departure):
    if departure.state == DepartureState.CANCELLED:
        return ManifestDownload.Status.CANCELLED
    if departure.state in (DepartureState.FINAL, DepartureState.DEPARTED, DepartureState.ARRIVED):
        return ManifestDownload.Status.FINAL
    return ManifestDownload.Status.DRAFT


def _document_for(documents, day):
    """The document the person travels on: valid on the day, the latest expiry first."""
    if not documents:
        return None
    valid = [d for d in documents if d[4] >= day]  # (person id, type, number, country, expiry)
    return (valid or documents)[0]


def load_manifest(departure):
    """Everything the manifest prints, in eight queries whatever the number of passengers."""
    day = departure.departure_date
    legs = list(departure.legs.order_by("number"))
    escorts = [(user_label(u), _phone(u)) for u in departure.escorts.select_related("escort_profile")
               .order_by("last_name", "first_name", "username")]
    exceptions = list(departure.rule_exceptions.order_by("recorded_at", "id"))
    status = _status(departure)
    finalised_at = changed_at = None
    if status == ManifestDownload.Status.FINAL:
        # When it was last made final, and the passenger list's last change since (a medical hold releasing a
        # family's places, a no-show at the gate): a manifest printed after such a change says so.
        for action, at in (DepartureLogEntry.objects.filter(departure=departure,
                                                           action__in=("made_final", *CHANGE_ACTIONS))
                           .order_by("at", "id").values_list("action", "at")):
            if action == "made_final":
                finalised_at, changed_at = at, None
            elif finalised_at is not None:
                changed_at = at
    # The passengers as plain values (model instances for thousands of people cost more than the query), their
    # documents and travel needs, and who is under surveillance on arrival, joined through the passenger rows.
    fields = ("booking_id", "booking__booked_at", "booking__case__case_number", "booking__case__progres_case_id",
              "person_id", "person__progres_individual_id", "person__relationship", "person__family_name",
              "person__given_name", "person__native_name", "person__sex", "person__date_of_birth",
              "person__nationality", "person__special_needs", "person__visa_reference")
    passengers = list(Passenger.objects.filter(departure=departure, active=True).values_list(*fields))
    travelling = {"person__passages__departure": departure, "person__passages__active": True}
    documents = defaultdict(list)
    for document in (TravelDocument.objects.filter(**travelling)
                     .order_by("person_id", "-expiry_date", "-id")
                     .values_list("person_id", "document_type", "number", "issuing_country", "expiry_date")):
        documents[document[0]].append(document)
    needs = {n.person_id: n for n in TravelMedicalNeeds.objects.filter(**travelling)}
    tb = {}
    for person_id, tb_status in (MedicalExam.objects.filter(**travelling).exclude(tb_status="")
                                 .order_by("person_id", "-exam_date", "-id").values_list("person_id", "tb_status")):
        tb.setdefault(person_id, tb_status)
    ages = Ages.of(departure)

    by_booking = defaultdict(list)
    for passenger in passengers:
        by_booking[passenger[0]].append(passenger)
    cases = []
    for members in by_booking.values():
        _, booked_at, case_number, progres_case_id = members[0][:4]
        members.sort(key=lambda m: family_order(m[6], m[11], m[4]))
        rows = []
        for (_, _, _, _, person_id, progres_id, _, family, given, native, sex, born, nationality, special_needs,
             visa) in members:
            # Only what MedicalStatus lets any role know: surveillance on arrival, never the result behind it.
            surveillance = MedicalStatus(person=None, tb_status=tb.get(person_id, "")).surveillance
            document = _document_for(documents.get(person_id), day)
            rows.append(ManifestRow(
                number=0, case_number=case_number, person_id=person_id, progres_id=progres_id, family_name=family,
                given_name=given, native_name=native, sex=sex, date_of_birth=born, age=age_on(born, day),
                kind=ages.kind(born), nationality=nationality,
                document_type=document[1] if document else "", document_number=document[2] if document else "",
                document_country=document[3] if document else "", document_expiry=document[4] if document else None,
                visa=visa, ssr=combined_ssr(special_needs, needs.get(person_id)),
                final_destination=departure.final_destination, surveillance=surveillance,
            ))
        _duties(rows)
        cases.append(CaseBlock(case_number, progres_case_id, booked_at, rows,
                               url=boarding_address(departure.code, case_number),
                               seats=sum(1 for r in rows if r.kind != INFANT)))
    manifest = Manifest(departure, legs, escorts, exceptions, status, finalised_at, cases, changed_at=changed_at)
    if manifest.is_road:
        manifest.vehicles, manifest.unassigned = assign_vehicles(legs, cases)
        manifest.cases = [c for v in manifest.vehicles for c in v.cases] + manifest.unassigned
    else:
        manifest.cases.sort(key=lambda c: c.case_number)
    for number, row in enumerate(manifest.rows, start=1):
        row.number = number
    for case in manifest.cases:
        for row in case.rows:
            row.attention = [note(row_numbers(case)) if callable(note) else note for note in row.attention]
    return manifest


def row_numbers(case):
    return {row.person_id: row for row in case.rows}


def _phone(user):
    profile = getattr(user, "escort_profile", None)
    phone = getattr(profile, "phone", None)
    return phone.as_international if phone else ""


def _duties(rows):
    """Fill in each row's SSR codes and special-attention notes for one case: infants on a lap (each with one
    traveller of the companion age, in family order, those who need care themselves last), unaccompanied minors,
    SSR duties, surveillance on arrival."""
    companions = sorted((r for r in rows if r.age >= settings.SAFAR_INFANT_COMPANION_MIN_AGE),
                        key=lambda r: bool(CANNOT_HOLD.intersection(r.ssr)))  # (stable: family order kept)
    infants = [r for r in rows if r.kind == INFANT]
    adults = [r for r in rows if r.age >= settings.SAFAR_UNACCOMPANIED_MINOR_AGE]
    for row in rows:
        if row.kind == INFANT and "INFT" not in row.ssr:
            row.ssr.append("INFT")
        if not adults and row.age < settings.SAFAR_UNACCOMPANIED_MINOR_AGE and "UMNR" not in row.ssr:
            row.ssr.append("UMNR")
        row.unaccompanied = "UMNR" in row.ssr
    for infant, holder in zip(infants, companions):
        infant.attention.append(_lap_note(infant.person_id, holder.person_id, "infant on the lap of"))
        holder.attention.append(_lap_note(holder.person_id, infant.person_id, "holds infant"))
        if CANNOT_HOLD.intersection(holder.ssr):
            infant.attention.append("no one else in the family can hold them: check with operations")
    for infant in infants[len(companions):]:
        infant.attention.append("infant with no one to hold them — see operations")
    for row in rows:
        duties = [DUTIES[code] for code in row.ssr if code in DUTIES]
        for n, duty in enumerate(duties):
            # "Escort needed" once, said by the first duty that needs it (a stretcher with a MEDIF, say).
            if n and ESCORT_NEEDED in duty and any(ESCORT_NEEDED in d for d in duties[:n]):
                duty = duty.replace(f" — {ESCORT_NEEDED}", "").replace(f"{ESCORT_NEEDED}; ", "")
            row.attention.append(duty)
        if row.surveillance:
            row.attention.append(f"report to public health within {settings.SAFAR_SURVEILLANCE_DAYS} days of arrival")


def _lap_note(own_id, other_id, words):
    def note(rows):
        other = rows[other_id]
        return f"{words} {other.family_name}, {other.given_name} (row {other.number})"

    return note


def assign_vehicles(legs, cases):
    """Road: each case, whole, to a vehicle (see the module docstring). Returns (vehicles, cases left over)."""
    vehicles = [Vehicle(leg) for leg in legs]
    if not vehicles:
        return [], sorted(cases, key=lambda c: c.case_number)
    for case in sorted(cases, key=lambda c: (c.booked_at, c.case_number)):
        def free(vehicle):
            return (vehicle.leg.seats or 0) - vehicle.seats_taken

        fitting = [v for v in vehicles if free(v) >= case.seats]
        (fitting[0] if fitting else max(vehicles, key=free)).cases.append(case)
    for vehicle in vehicles:
        vehicle.cases.sort(key=lambda c: c.case_number)
    return vehicles, []


@dataclass
class Summary:
    cases: int
    passengers: int
    kinds: Counter
    ssr: Counter
    unaccompanied: int
    surveillance: int


def summarise(manifest):
    rows = manifest.rows
    ssr = Counter(code for row in rows for code in row.ssr)
    return Summary(len(manifest.cases), len(rows), Counter(r.kind for r in rows), ssr,
                   sum(1 for r in rows if r.unaccompanied), sum(1 for r in rows if r.surveillance))


def manifest_rows(departure):
    """The passengers' rows, in manifest order (the advance passenger data is written from these)."""
    return load_manifest(departure).rows


# --- how it looks ---------------------------------------------------------------------------------------------

MARGIN = 10  # mm, left and right
CELL = Role(7.5, condensed=True)
CELL_BOLD = Role(7.5, bold=True, condensed=True)
NAME = Role(9, condensed=True)  # given name and the name in the person's own script, whatever its script
FAMILY = Role(9, bold=True, condensed=True)
HEAD = Role(7, bold=True, condensed=True)
TITLE = Role(14, bold=True, condensed=True)
STATE = Role(13, bold=True, condensed=True)
HEADER = Role(8.5, condensed=True)
HEADER_BOLD = Role(8.5, bold=True, condensed=True)
SUMMARY = Role(8.5, condensed=True)
SUMMARY_BOLD = Role(8.5, bold=True, condensed=True)
BOX = "\u2610"  # ☐ (vehicle headings)
QR_SIZE = 17 * mm
GRID = colors.HexColor("#777777")
PAD_LEFT, PAD_RIGHT = 1.5, 2.0  # points: a case number or a date fills its column
PAD_TOP, PAD_BOTTOM = 2.2, 2.6
TICK = 4 * mm  # the side of a box to tick
BOX_MIN_HEIGHT = TICK + 3 * mm
INK = colors.black


@dataclass(frozen=True)
class Column:
    head: str
    width: float  # mm; the widest column (special attention) takes what is left


AIR_COLUMNS = [
    # (The final destination is the departure's, in the header: the room a column for it took is the names'.)
    Column("#", 7), Column("Case", 24), Column("proGres id", 23), Column("Family name", 28),
    Column("Given name", 28), Column("Name in own script", 30), Column("Sex", 6), Column("Born\nage", 16),
    Column("Nat.", 8), Column("Travel document", 20), Column("Visa / COPR", 18), Column("SSR", 10),
    Column("Special attention", 0), Column("Boarded", 10), Column("Arrived", 10),
]
ROAD_COLUMNS = [c if c.head != "Visa / COPR" else Column("Luggage tags (write)", 22) for c in AIR_COLUMNS]
ATTENTION = 12
FIRST_BOX = [c.head for c in AIR_COLUMNS].index("Boarded")  # the boxes to tick: Boarded, Arrived


def _widths(columns, total):
    widths = [c.width * mm for c in columns]
    widths[ATTENTION] = total - sum(widths)
    return widths


def _local(moment, zone):
    return timezone.localtime(moment, zone)


def _days_later(moment, day):
    later = (moment.date() - day).days
    return f"+{later}" if later > 0 else ("" if later == 0 else str(later))


def legs_line(departure, legs):
    """`TK 255 DYU 06:25 → IST 09:50 · TK 17 IST 13:45 → YYZ 17:35` in each airport's local time (+1: a later day
    than the departure's date). A convoy: each vehicle with its plate, route and times."""
    day = departure.departure_date
    parts = []
    for leg in legs:
        leaves, arrives = leg.local_departure(), leg.local_arrival()
        what = leg.flight if departure.is_air else f"{leg.number}. {leg.vehicle} {leg.plate}".strip()
        parts.append(f"{what} {leg.origin} {clock(leaves)}{_days_later(leaves, day)} → "
                     f"{leg.destination} {clock(arrives)}{_days_later(arrives, day)}")
    return " · ".join(parts) or "no legs yet"


def _kinds(kinds):
    parts = [(kinds.get(ADULT, 0), "adult", "adults"), (kinds.get(CHILD, 0), "child", "children"),
             (kinds.get(INFANT, 0), "infant", "infants")]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts)


def _box(text, role, align=None):
    return ScriptText(text, role, align=align)


def _cell(text, role, width, align=None, cache=None):
    """(lines, align, role) of one cell's text laid out in its column; `cache`: a dict kept for one manifest (the
    same destination, nationality or family name is laid out once)."""
    if not text:
        return None
    key = (text, role, width)
    lines = cache.get(key) if cache is not None else None
    if lines is None:
        lines = layout(text, role, width - PAD_LEFT - PAD_RIGHT)
        if cache is not None:
            cache[key] = lines
    if align is None:
        align = TA_RIGHT if direction(text) == "R" else TA_LEFT
    return lines, align, role


def cell_texts(row, road):
    """The text of each column of a passenger's row (None: the case column, drawn per case), with its role and
    alignment (None: by the text's direction)."""
    # An infant sits on a lap; one who turns 2 on the way has a seat of their own from the start.
    note = " infant" if row.kind == INFANT else (" · seat" if row.age < settings.SAFAR_INFANT_AGE else "")
    born = f"{row.date_of_birth:%Y-%m-%d}\n{row.age}{note}"
    attention = "; ".join(row.attention)
    document = f"{row.document_label}\n{row.document_number}" if row.document_number else "none recorded"
    return [
        (str(row.number), CELL_BOLD, TA_RIGHT), None, (row.progres_id, CELL, None), (row.family_name, FAMILY, None),
        (row.given_name, NAME, None), (row.native_name, NAME, None), (row.sex, CELL, None), (born, CELL, None),
        (row.nationality, CELL, None), (document, CELL, None), ("" if road else (row.visa or "—"), CELL, None),
        ("\n".join(row.ssr), CELL, None),
        (("! " + attention[0].upper() + attention[1:]) if attention else "", CELL_BOLD, None),
    ]


def _row_cells(row, road, widths, cache):
    return [None if t is None else _cell(t[0], t[1], widths[i], t[2], cache)
            for i, t in enumerate(cell_texts(row, road))]


class CaseFlowable(Flowable):
    """One case's block of rows, laid out by hand (as fast as drawing the strings, which a platypus Table per
    case is not at 3,000 passengers): the row number, the case column (case number, passenger count and the QR
    code of the family's boarding page, over the first rows), a cell per column, boxes to tick, a heavy rule
    around the case. It moves to the next page whole when it fits on one page; a larger case splits between rows,
    never inside one."""

    def __init__(self, case, rows, widths, road, page_height, continued=False, cache=None, vehicle=""):
        super().__init__()
        self.case, self.rows, self.widths, self.road = case, rows, widths, road
        self.page_height, self.continued, self.cache = page_height, continued, cache if cache is not None else {}
        self.vehicle = vehicle  # a convoy: which vehicle the family rides in, said on every page it is on
        self.cells = [_row_cells(row, road, widths, self.cache) for row in rows]
        head = f"{case.case_number}" + (" (continued)" if continued else "")
        count = "" if continued else f"{len(case.rows)} passenger{'s' if len(case.rows) != 1 else ''}"
        self.head = [c for c in (_cell(head, CELL_BOLD, widths[1]), _cell(vehicle, CELL_BOLD, widths[1]),
                                 _cell(count, CELL, widths[1])) if c]
        head_height = sum(line.height for lines, _, _ in self.head for line in lines)
        self.qr = not continued
        case_height = PAD_TOP + head_height + (1 * mm + QR_SIZE if self.qr else 0) + PAD_BOTTOM
        self.heights = []
        for cells in self.cells:
            content = max((sum(line.height for line in c[0]) for c in cells if c), default=0)
            self.heights.append(max(PAD_TOP + content + PAD_BOTTOM, BOX_MIN_HEIGHT))
        span = min(len(rows), 3)
        short = case_height - sum(self.heights[:span])
        if short > 0:  # the case column's rows grow to hold the QR code
            for i in range(span):
                self.heights[i] += short / span
        self.span = span
        self.width = sum(widths)
        self.height = sum(self.heights)

    def wrap(self, availWidth, availHeight):  # noqa: N803
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803
        # A family that fits on a page goes to the next page whole — unless nothing is on this one yet (the first
        # page, with the summary above, holds fewer rows): it would be left listing nobody.
        if len(self.rows) < 2 or (self.height <= self.page_height and not _at_top(self)):
            return []
        k = self.rows_fitting(availHeight)
        if k == 0 or k >= len(self.rows):
            return []
        return list(self.split_after(k))

    def rows_fitting(self, height):
        """How many of the first rows fit in `height`."""
        used, k = 0, 0
        for row_height in self.heights:
            if used + row_height > height:
                break
            used += row_height
            k += 1
        return k

    def split_after(self, k):
        """The first k rows, and the rest (continued)."""
        return (CaseFlowable(self.case, self.rows[:k], self.widths, self.road, self.page_height, self.continued,
                             self.cache, self.vehicle),
                CaseFlowable(self.case, self.rows[k:], self.widths, self.road, self.page_height, True, self.cache,
                             self.vehicle))

    def draw(self):
        canv = self.canv
        xs = [0]
        for w in self.widths:
            xs.append(xs[-1] + w)
        text = canv.beginText()
        top = self.height
        tops = []
        for cells, height in zip(self.cells, self.heights):
            tops.append(top)
            for i, cell in enumerate(cells):
                if cell:
                    lines, align, role = cell
                    draw_lines(canv, lines, xs[i] + PAD_LEFT, top - PAD_TOP, self.widths[i] - PAD_LEFT - PAD_RIGHT,
                               align, role, text=text)
            top -= height
        y = self.height - PAD_TOP
        for lines, align, role in self.head:
            draw_lines(canv, lines, xs[1] + PAD_LEFT, y, self.widths[1] - PAD_LEFT - PAD_RIGHT, align, role,
                       text=text)
            y -= sum(line.height for line in lines)
        canv.drawText(text)
        if self.qr:
            x, y = xs[1] + (self.widths[1] - QR_SIZE) / 2, y - 1 * mm - QR_SIZE
            # A white quiet zone first: the DRAFT mark under the page must not cross the code.
            quiet = 2 * QR_SIZE / 37
            canv.setFillColor(colors.white)
            canv.rect(x - quiet, y - quiet, QR_SIZE + 2 * quiet, QR_SIZE + 2 * quiet, stroke=0, fill=1)
            canv.setFillColor(INK)
            QRFlowable(self.case.url, QR_SIZE).drawOn(canv, x, y)
        # Rules: thin between rows and columns, heavy around the case; boxes to tick.
        canv.setStrokeColor(GRID)
        canv.setLineWidth(0.4)
        path = canv.beginPath()
        for x in xs[1:-1]:
            path.moveTo(x, 0)
            path.lineTo(x, self.height)
        for i, row_top in enumerate(tops[1:], start=1):
            path.moveTo(xs[0], row_top)
            path.lineTo(xs[1], row_top)
            path.moveTo(xs[2] if i < self.span else xs[1], row_top)  # the case column spans its first rows
            path.lineTo(xs[-1], row_top)
        canv.drawPath(path, stroke=1, fill=0)
        canv.setStrokeColor(INK)
        canv.setLineWidth(0.9)
        boxes = canv.beginPath()
        for row_top, height in zip(tops, self.heights):
            for column in (FIRST_BOX, FIRST_BOX + 1):
                x = xs[column] + (self.widths[column] - TICK) / 2
                boxes.rect(x, row_top - height / 2 - TICK / 2, TICK, TICK)
        canv.drawPath(boxes, stroke=1, fill=0)
        canv.setLineWidth(1.4)
        canv.rect(0, 0, self.width, self.height, stroke=1, fill=0)


def _header_table(manifest, width):
    d = manifest.departure
    mode = "by air" if d.is_air else "by road"
    escorts = "; ".join(f"{name} {phone}".strip() for name, phone in manifest.escorts) or "none assigned"
    if manifest.status == ManifestDownload.Status.FINAL:
        made = _local(manifest.finalised_at, timezone.get_current_timezone()) if manifest.finalised_at else None
        state = "FINAL" + (f"  made final {made:%Y-%m-%d %H:%M}" if made else "")
        if manifest.changed_at:
            changed = _local(manifest.changed_at, timezone.get_current_timezone())
            state += f" · list changed {changed:%Y-%m-%d %H:%M}"
    elif manifest.status == ManifestDownload.Status.CANCELLED:
        state = "CANCELLED — do not travel on this list"
    else:
        state = "DRAFT — not final: the list may change"
    facts = [
        f"PNR {d.pnr or 'not yet'}" if d.is_air else f"{len(manifest.legs)} vehicle{'s' if len(manifest.legs) != 1 else ''}",
        f"Final destination: {d.final_destination}, {country_name(d.destination_country)}",
        f"Escorts: {escorts}",
    ]
    rows = [
        [_box(f"Departure manifest {d.code}", TITLE), _box(state, STATE, align=TA_RIGHT)],
        [_box(f"{d.departure_date:%A %d %B %Y} · {mode} · {legs_line(d, manifest.legs)}", HEADER_BOLD), ""],
        [_box(" · ".join(facts), HEADER), ""],
    ]
    table = Table(rows, colWidths=[width * 0.62, width * 0.38])
    table.setStyle(TableStyle([
        ("SPAN", (0, 1), (1, 1)), ("SPAN", (0, 2), (1, 2)),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, INK),
    ]))
    return table


def _summary_table(manifest, summary, width):
    ssr = ", ".join(f"{code} {n}" for code, n in sorted(summary.ssr.items())) or "none"
    exceptions = "; ".join(
        f"{e.get_rule_display().lower()} — granted by {e.granted_by}" + (f" (ref. {e.reference})" if e.reference else "")
        for e in manifest.exceptions) or "none"
    cells = [
        ("Cases", str(summary.cases)),
        ("Passengers", f"{summary.passengers} ({_kinds(summary.kinds)})" if summary.passengers else "0"),
        ("SSR", ssr),
        ("Unaccompanied minors", str(summary.unaccompanied)),
        ("Report to public health on arrival", str(summary.surveillance)),
        ("Exceptions granted", exceptions),
    ]
    if manifest.is_road:
        cells.insert(2, ("Vehicles", "; ".join(
            f"{v.leg.number}. {v.leg.vehicle} {v.leg.plate}: {v.passengers} passengers, {v.seats_taken} of "
            f"{v.leg.seats or 0} seats" for v in manifest.vehicles) or "none"))
    half = (len(cells) + 1) // 2
    left, right = cells[:half], cells[half:]
    rows = []
    for i in range(half):
        row = [_box(left[i][0], SUMMARY_BOLD), _box(left[i][1], SUMMARY)]
        row += [_box(right[i][0], SUMMARY_BOLD), _box(right[i][1], SUMMARY)] if i < len(right) else ["", ""]
        rows.append(row)
    label = 30 * mm
    table = Table(rows, colWidths=[label, width / 2 - label, label + 28 * mm, width / 2 - label - 28 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("BOX", (0, 0), (-1, -1), 0.8, INK),
    ]))
    return table


def _column_heads(columns, widths):
    table = Table([[_box(c.head, HEAD, align=TA_CENTER if i >= FIRST_BOX else TA_LEFT)
                    for i, c in enumerate(columns)]], colWidths=widths)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD_LEFT), ("RIGHTPADDING", (0, 0), (-1, -1), PAD_RIGHT),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LINEABOVE", (0, 0), (-1, 0), 1.4, INK), ("LINEBELOW", (0, 0), (-1, 0), 1.4, INK),
        ("LINEBEFORE", (1, 0), (-1, -1), 0.4, GRID),
    ]))
    return table


def _vehicle_heading(vehicle, width):
    leg = vehicle.leg
    seats = leg.seats or 0
    over = vehicle.seats_taken - seats
    leaves, arrives, day = leg.local_departure(), leg.local_arrival(), leg.departure.departure_date
    text = (f"Vehicle {leg.number}: {leg.vehicle} {leg.plate} · driver {leg.driver or '—'} · {leg.origin} "
            f"{clock(leaves)}{_days_later(leaves, day)} → {leg.destination} "
            f"{clock(arrives)}{_days_later(arrives, day)} · "
            f"{vehicle.passengers} passengers, {vehicle.seats_taken} of {seats} seats"
            + (f" — {over} OVER" if over > 0 else ""))
    check = f"{BOX} Boarded: all {vehicle.passengers} aboard, luggage loaded — time ______  escort ________"
    table = Table([[_box(text, SUMMARY_BOLD), _box(check, SUMMARY, align=TA_RIGHT)]],
                  colWidths=[width * 0.58, width * 0.42])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BOX", (0, 0), (-1, -1), 1.4, INK),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#eeeeee")),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


class VehicleStart(KeepTogether):
    """A vehicle's heading, kept with its first family."""

    def __init__(self, heading, first):
        super().__init__([heading, first])
        self.heading, self.first = heading, first

    def split(self, availWidth, availHeight):  # noqa: N803
        # Where nothing is drawn yet (the first page, below its summary), they do not go to the next page together,
        # which would leave this one listing nobody: the heading and the rows that fit, the family continued.
        if getattr(self, "_wrapInfo", None) != (availWidth, availHeight):
            self.wrap(availWidth, availHeight)  # KeepTogether's: its height (_H), for every split it is asked for
        if self._H > availHeight and _at_top(self) and len(self.first.rows) >= 2:
            _, heading_height = self.heading.wrap(availWidth, availHeight)
            k = min(self.first.rows_fitting(availHeight - heading_height), len(self.first.rows) - 1)
            if k:
                return [self.heading, *self.first.split_after(k)]
        return super().split(availWidth, availHeight)


def _at_top(flowable):
    """Whether nothing is drawn yet on the page the flowable is being placed on (ReportLab's frame says so)."""
    return bool(getattr(getattr(flowable, "_frame", None), "_atTop", False))


class ManifestEnd(Flowable):
    """The last family, the line that ends the manifest and the signatures: the page the escort signs always lists
    passengers. When they do not fit where the list has come to, the family goes to the next page whole if it fits
    there with the signatures (and something is on this page); else it is split between rows, its last rows
    going with the signatures. Only an end taller than a whole page even with one row (many escorts, a long
    convoy's drivers) lets the signatures run on to the next page, line by line."""

    def __init__(self, lead, case, closing):
        super().__init__()
        self.lead, self.case, self.closing = lead, case, closing  # lead: a vehicle's heading over its only family

    def _parts(self):
        return [*self.lead, *([self.case] if self.case is not None else []), *self.closing]

    def wrap(self, availWidth, availHeight):  # noqa: N803
        sizes = [part.wrap(availWidth, availHeight) for part in self._parts()]
        self.width = availWidth
        self.height = sum(height for _, height in sizes)
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803
        case = self.case
        self.wrap(availWidth, availHeight)
        at_top = _at_top(self)
        if case is not None and self.height <= case.page_height and not at_top:
            return []  # the whole end on the next page
        if case is not None and len(case.rows) >= 2:
            lead = sum(part.wrap(availWidth, availHeight)[1] for part in self.lead)
            k = min(case.rows_fitting(availHeight - lead), len(case.rows) - 1)
            if k:
                first, rest = case.split_after(k)
                return [*self.lead, first, ManifestEnd([], rest, self.closing)]
        if not at_top:
            return []  # not a row fits here: the next page
        # Taller than a page even with one row: the parts one after another, the signatures running on.
        return self._parts()

    def draw(self):
        y = self.height
        for part in self._parts():
            _, height = part.wrap(self.width, y)
            y -= height
            part.drawOn(self.canv, 0, y)


def _signatures(manifest, width):
    d = manifest.departure
    lines = [(f"Escort: {name}", "Signature", "Date and time") for name, _ in manifest.escorts] or [
        ("Escort (name)", "Signature", "Date and time")]
    if d.is_air:
        lines.append(("Airline representative (name)", "Signature", "Date and time"))
    else:
        lines += [(f"Driver of vehicle {leg.number}: {leg.driver or '(name)'}", "Signature", "Date and time")
                  for leg in manifest.legs] or [("Driver (name)", "Signature", "Date and time")]
    rows = [[_box(a, SUMMARY), _box(b, SUMMARY), _box(c, SUMMARY)] for a, b, c in lines]
    table = Table(rows, colWidths=[width * 0.4, width * 0.35, width * 0.25])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 11 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("LINEABOVE", (0, 0), (-1, -1), 0.8, INK),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 8 * mm),
    ]))
    return table


def render_manifest(departure, *, manifest=None, now=None):
    """The manifest of `departure` as PDF bytes."""
    manifest = manifest or load_manifest(departure)
    summary = summarise(manifest)
    now = timezone.localtime(now or timezone.now())
    for case in manifest.cases:
        for row in case.rows:
            scripts = missing_scripts(row.native_name) if row.native_name and not row.native_name.isascii() else ()
            if scripts:
                logger.warning("Manifest %s, case %s, row %d: the name in own script is in %s, which no shipped font "
                               "covers; printed as stored.", departure.code, case.case_number, row.number,
                               ", ".join(scripts))
    road = manifest.is_road
    columns = ROAD_COLUMNS if road else AIR_COLUMNS
    page_width = 297 * mm
    width = page_width - 2 * MARGIN * mm
    widths = _widths(columns, width)
    header = _header_table(manifest, width)
    summary_table = _summary_table(manifest, summary, width)
    heads = _column_heads(columns, widths)
    _, header_h = header.wrap(width, 200 * mm)
    _, summary_h = summary_table.wrap(width, 200 * mm)
    _, heads_h = heads.wrap(width, 50 * mm)
    top = 8 * mm
    gap = 2.5 * mm
    later_top = top + header_h + gap + heads_h
    first_top = later_top + summary_h + gap

    def draw_header(canv, document):
        page_height = document.pagesize[1]
        _watermark(canv, manifest.status, page_width, page_height)
        if document.page == 1:
            # The header and the column heads are drawn once, as forms (PDF XObjects) every page refers to.
            for name, flowable in (("manifest-header", header), ("manifest-columns", heads)):
                canv.beginForm(name)
                flowable.drawOn(canv, 0, 0)
                canv.endForm()
        y = page_height - top - header_h
        _place(canv, "manifest-header", MARGIN * mm, y)
        if document.page == 1:
            y -= gap + summary_h
            summary_table.drawOn(canv, MARGIN * mm, y)
        _place(canv, "manifest-columns", MARGIN * mm, y - gap - heads_h)

    document = Document(
        title=f"Departure manifest {departure.code} ({manifest.status.upper()})",
        margins=(MARGIN, MARGIN, later_top / mm, 14), first_top=first_top / mm, header=draw_header,
        footer_left=f"{departure.code} · made {now:%Y-%m-%d %H:%M} ({now.tzinfo}) · {manifest.status.upper()}",
        footer_centre="Confidential — contains personal data", footer_font=CONDENSED,
    )
    page_height = document.template.height
    cache = {}
    story = []
    if road:
        for vehicle in manifest.vehicles:
            heading = _vehicle_heading(vehicle, width)
            tables = [CaseFlowable(case, case.rows, widths, road, page_height, cache=cache,
                                   vehicle=f"Vehicle {vehicle.leg.number}") for case in vehicle.cases]
            # A vehicle's heading stays with its first family.
            story.append(VehicleStart(heading, tables[0]) if tables else heading)
            story += tables[1:]
            story.append(Spacer(1, 3 * mm))
        story += [CaseFlowable(case, case.rows, widths, road, page_height, cache=cache) for case in manifest.unassigned]
    else:
        story += [CaseFlowable(case, case.rows, widths, road, page_height, cache=cache) for case in manifest.cases]
    if not manifest.cases:
        story.append(ScriptText("No passenger is booked on this departure.", SUMMARY_BOLD))
    # The last family (or its last rows) stays with the signatures: an escort never signs a page that lists nobody.
    # (A convoy's last vehicles with no one in them go with the end: their headings are not a family.)
    trailing = []
    while story and (isinstance(story[-1], Spacer) or (road and isinstance(story[-1], Table))):
        item = story.pop()
        if isinstance(item, Table):
            trailing[:0] = [Spacer(1, 3 * mm), item]
    closing = [
        *trailing,
        Spacer(1, 4 * mm),
        ScriptText(f"End of manifest: {summary.passengers} passenger{'s' if summary.passengers != 1 else ''} in "
                   f"{summary.cases} case{'s' if summary.cases != 1 else ''}.", SUMMARY_BOLD),
        _signatures(manifest, width),
    ]
    last = story.pop() if story and isinstance(story[-1], (CaseFlowable, VehicleStart)) else None
    if isinstance(last, VehicleStart):  # a vehicle's heading and its only family
        story.append(ManifestEnd([last.heading], last.first, closing))
    elif last is not None:
        story.append(ManifestEnd([], last, closing))
    else:
        story.append(KeepTogether(closing))
    return document.build(story)


def _place(canv, form, x, y):
    canv.saveState()
    canv.translate(x, y)
    canv.doForm(form)
    canv.restoreState()


def _watermark(canv, status, page_width, page_height):
    if status == ManifestDownload.Status.FINAL:
        return
    word = "DRAFT" if status == ManifestDownload.Status.DRAFT else "CANCELLED"
    size = 160 if word == "DRAFT" else 115
    canv.saveState()
    canv.setStrokeColor(colors.HexColor("#a8a8a8"))
    canv.setLineWidth(1.2)
    canv.translate(page_width / 2, page_height / 2 - 20 * mm)
    canv.rotate(24)
    text = canv.beginText()
    text.setTextRenderMode(1)  # outline only: the rows stay readable through it on a black-and-white printer
    text.setFont(CONDENSED_BOLD, size)
    text.setTextOrigin(-canv.stringWidth(word, CONDENSED_BOLD, size) / 2, 0)
    text.textOut(word)
    canv.drawText(text)
    canv.restoreState()


def record_download(departure, *, user=None, actor="", document="manifest", status=None, passengers=0,
                    request=None, cases=()):
    """Log that a manifest (or the APD file) left Safar: who, when, DRAFT or FINAL; and, for the access log, whose
    data it held (the cases of its rows)."""
    reads.record(reads.Kind.APD if document == "apd" else reads.Kind.MANIFEST, request=request, user=user,
                 actor=actor, cases=cases, target=f"{departure.code} ({(status or _status(departure)).upper()})",
                 detail={"departure": departure.code, "passengers": passengers})
    return ManifestDownload.objects.create(
        departure=departure, document=document, status=status or _status(departure), user=user,
        actor=(actor or (user_label(user) if user is not None else "system"))[:200], passengers=passengers,
    )

