"""The UNHCR status export (DESIGN.md, "Status export"): one row per individual, the contract's columns in order.

`StatusResource` (django-import-export) is the one definition of the columns; the admin's export and the API
use it too. The rows are read in chunks from one query (`values()` with the case's fields joined) and written
as they are read, so exporting the whole caseload neither holds it in memory nor runs a query per row.
No medical data, phone numbers, document or visa numbers, native-script names or notes are ever selected.
"""

import csv
import datetime
import io
import operator
import re
import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone
from import_export import fields, resources, widgets

from movements.models import CaseState, Person
from movements.spreadsheets import FORMULA_STARTS, neutralise

CHUNK = 2000
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

# The columns of the contract, in its order: (column, attribute of a row).
COLUMNS = [
    ("progres_case_id", "progres_case_id"), ("progres_individual_id", "progres_individual_id"),
    ("case_number", "case_number"), ("family_name", "family_name"), ("given_name", "given_name"),
    ("case_status", "case_status"), ("status_date", "status_date"), ("departure_date", "departure_date"),
    ("itinerary", "itinerary"), ("arrival_date", "arrival_date"), ("destination_country", "destination_country"),
]
DATE_COLUMNS = {"status_date", "departure_date", "arrival_date"}
# The XLSX's column widths, in characters, for what the columns hold (a proGres id, an itinerary of three legs).
COLUMN_WIDTHS = {"progres_case_id": 16, "progres_individual_id": 19, "case_number": 16, "family_name": 20,
                 "given_name": 20, "case_status": 11, "itinerary": 44}
# A row of `rows()` is a tuple of these attributes, in this order; `as_dict` names its values.
ATTRIBUTES = tuple(attribute for _column, attribute in COLUMNS)
POSITION = {attribute: position for position, attribute in enumerate(ATTRIBUTES)}


def as_dict(row):
    return dict(zip(ATTRIBUTES, row))


class StatusResource(resources.Resource):
    """The columns of the status export, in the contract's order."""

    progres_case_id = fields.Field(attribute="progres_case_id", column_name="progres_case_id")
    progres_individual_id = fields.Field(attribute="progres_individual_id", column_name="progres_individual_id")
    case_number = fields.Field(attribute="case_number", column_name="case_number")
    family_name = fields.Field(attribute="family_name", column_name="family_name")
    given_name = fields.Field(attribute="given_name", column_name="given_name")
    case_status = fields.Field(attribute="case_status", column_name="case_status")
    status_date = fields.Field(attribute="status_date", column_name="status_date",
                               widget=widgets.DateWidget("%Y-%m-%d"))
    departure_date = fields.Field(attribute="departure_date", column_name="departure_date",
                                  widget=widgets.DateWidget("%Y-%m-%d"))
    itinerary = fields.Field(attribute="itinerary", column_name="itinerary")
    arrival_date = fields.Field(attribute="arrival_date", column_name="arrival_date",
                                widget=widgets.DateWidget("%Y-%m-%d"))
    destination_country = fields.Field(attribute="destination_country", column_name="destination_country")

    class Meta:
        export_order = [name for name, _ in COLUMNS]

    def export_field(self, field, instance, **kwargs):
        return neutralise(super().export_field(field, instance, **kwargs))

    def row_renderer(self):
        """A function row (a tuple of `rows()`) -> cells, built once from these fields: what `export_resource`
        gives for the same row as a dict, without the per-cell look-ups of django-import-export (a test holds the
        two equal), for streaming large exports."""
        fields_ = self.get_export_fields()
        getter = operator.itemgetter(*[POSITION[field.attribute] for field in fields_])
        dates, texts, others = [], [], []
        for position, field in enumerate(fields_):
            if isinstance(field.widget, widgets.DateWidget):
                dates.append(position)
            elif type(field.widget) is widgets.Widget:
                texts.append(position)
            else:
                others.append((position, field.widget))

        def render(row):
            # The hot path of a large export: one C-level look-up for the row, then `neutralise` inlined for text.
            cells = list(getter(row))
            for position in dates:
                value = cells[position]
                cells[position] = value.isoformat() if value else ""
            for position in texts:
                value = cells[position]
                if value is None:
                    cells[position] = ""
                else:
                    if value.__class__ is not str:
                        value = cells[position] = str(value)
                    if value[:1] in _FORMULA_FIRST:
                        cells[position] = "'" + value
            for position, widget in others:
                cells[position] = neutralise(widget.render(cells[position]))
            return cells

        return render

    @classmethod
    def get_display_name(cls):
        """The name the admin's export form gives this resource (it lists a model resource's by its class)."""
        return "UNHCR status export"

    def export(self, queryset=None, **kwargs):
        """The admin's export of selected people: the same rows as the status export, as a tablib Dataset, with
        the columns ticked on the admin's export form (`export_fields`; all of them, in the contract's order,
        when none are named)."""
        import tablib

        selected = kwargs.get("export_fields")
        dataset = tablib.Dataset(headers=self.get_export_headers(selected_fields=selected))
        person_ids = None if queryset is None else queryset.values("pk")  # a subquery: any number of people
        for row in rows(StatusFilter(), person_ids=person_ids):
            dataset.append(self.export_resource(as_dict(row), selected_fields=selected))
        return dataset


_FORMULA_FIRST = frozenset(c[0] for c in FORMULA_STARTS)


@dataclass(frozen=True)
class StatusFilter:
    """Which rows an export holds: all, or one destination, one state, a status changed on or after a date."""

    destination: str = ""
    state: str = ""
    since: datetime.date | None = None

    def as_dict(self):
        return {"destination": self.destination, "state": self.state,
                "since": self.since.isoformat() if self.since else ""}

    def filename(self, extension):
        """"safar-status-2026-11-29-CAN-since-2026-11-22.csv": the mission's date first (weekly files sort and do
        not overwrite each other), then the filters."""
        parts = ["safar-status", timezone.localdate().isoformat()]
        if self.destination:
            parts.append(self.destination)
        if self.state:
            parts.append(self.state)
        if self.since:
            parts.append(f"since-{self.since.isoformat()}")
        return "-".join(parts) + f".{extension}"


class FilterError(ValueError):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def parse_filter(destination="", state="", since=""):
    """A StatusFilter from what a person typed (a page, the command, the API); FilterError names the field."""
    from movements.countries import COUNTRIES

    destination = (destination or "").strip().upper()
    if destination and destination not in COUNTRIES:
        raise FilterError("destination", f"“{destination}” is not an ISO 3166-1 alpha-3 country code (e.g. CAN).")
    state = (state or "").strip()
    if state and state not in CaseState.values:
        raise FilterError("state", f"“{state}” is not a case state; use one of {', '.join(CaseState.values)}.")
    since_date = None
    if since:
        try:
            if isinstance(since, datetime.date):
                since_date = since
            elif not ISO_DATE.fullmatch(since.strip()):  # fromisoformat would also take 20261130 and 2026-W48-1
                raise ValueError(since)
            else:
                since_date = datetime.date.fromisoformat(since.strip())
        except ValueError:
            raise FilterError("since", f"“{since}” is not a date: write it as YYYY-MM-DD.") from None
        if since_date.year < 1990:
            raise FilterError("since", f"{since_date.isoformat()} is before 1990; check the year.")
    return StatusFilter(destination=destination, state=state, since=since_date)


def _start_of_local_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def people(status_filter, person_ids=None):
    """The individuals the filter selects, as tuples of the row's own columns (one query, read in chunks):
    progres_case_id, progres_individual_id, case_number, family_name, given_name, state, state changed at,
    destination, departure id, the case's own arrival date, and whether the person is excluded from travel.
    `person_ids` (ids, or a query giving them) narrows it to those people."""
    from exchange.travel_facts import GONE_OR_BOOKED, STAYED_BEHIND_STATUS
    from travel.models import BookingStatus

    queryset = Person.objects.all() if person_ids is None else Person.objects.filter(pk__in=person_ids)
    # The case's active booking (at most one) and the person's open exclusion from travel (at most one), joined
    # in the same query; the departures' own facts are read once per export (travel_facts.Departures).
    queryset = queryset.annotate(
        active_booking=FilteredRelation("case__bookings", condition=Q(case__bookings__status=BookingStatus.ACTIVE)),
        open_exclusion=FilteredRelation("travel_exclusions", condition=Q(travel_exclusions__lifted_at__isnull=True)),
    )
    if status_filter.destination:
        queryset = queryset.filter(case__destination_country=status_filter.destination)
    if status_filter.state:
        # The row's own status, as `_complete` writes it: a member who stayed behind in a split case is `ready`
        # while the case is booked, departed or arrived (travel_facts).
        stayed_behind = Q(case__state__in=GONE_OR_BOOKED, active_booking__departure_id__isnull=False,
                          open_exclusion__id__isnull=False)
        shown = Q(case__state=status_filter.state) & ~stayed_behind
        if status_filter.state == STAYED_BEHIND_STATUS:
            shown |= stayed_behind
        queryset = queryset.filter(shown)
    if status_filter.since:
        # Anything the row says that changed (a transition, a member excluded or added, the flights moved), not only
        # the last transition: `Case.status_changed_at`.
        queryset = queryset.filter(case__status_changed_at__gte=_start_of_local_day(status_filter.since))
    return queryset.order_by("case__case_number", "id").values_list(
        "case__progres_case_id", "progres_individual_id", "case__case_number", "family_name", "given_name",
        "case__state", "case__state_changed_at", "case__destination_country",
        "active_booking__departure_id", "active_booking__arrival_date", "open_exclusion__id",
    )


def count(status_filter):
    return people(status_filter).count()


def rows(status_filter, person_ids=None):
    """Every row of the export, as tuples of `ATTRIBUTES` (the contract's columns; dates as dates), streamed in
    chunks."""
    from exchange import travel_facts

    departures = travel_facts.Departures()
    local_dates = {}  # the members of a case share its moment: convert each once
    batch = []
    for person in people(status_filter, person_ids).iterator(chunk_size=CHUNK):
        batch.append(person)
        if len(batch) >= CHUNK:
            yield from _complete(batch, departures, local_dates)
            batch = []
            local_dates.clear()
    if batch:
        yield from _complete(batch, departures, local_dates)


def _complete(batch, departures, local_dates):
    """Add the computed columns to a chunk of rows: the status date and what travel knows (see travel_facts)."""
    from exchange.travel_facts import GONE_OR_BOOKED, STAYED_BEHIND_STATUS

    known = departures.facts({row[8] for row in batch if row[8] is not None})
    arrived = CaseState.ARRIVED
    for (progres_case_id, individual, case_number, family_name, given_name, state, changed_at, destination,
         departure_id, case_arrival, excluded) in batch:
        status_date = local_dates.get(changed_at)
        if status_date is None:
            status_date = local_dates[changed_at] = timezone.localtime(changed_at).date()
        if departure_id is None:
            departure_date = arrival_date = None
            itinerary = ""
        elif excluded and state in GONE_OR_BOOKED:
            # A member excluded from travel in a split case shows their own status: they did not travel.
            state = STAYED_BEHIND_STATUS
            departure_date = arrival_date = None
            itinerary = ""
        else:
            departure_date, departure_arrival, itinerary = known[departure_id]
            arrival_date = (case_arrival or departure_arrival) if state == arrived else None
        yield (progres_case_id, individual, case_number, family_name, given_name, state, status_date,
               departure_date, itinerary, arrival_date, destination)


# --- writers -------------------------------------------------------------------------------------------------


def csv_chunks(status_filter):
    """The CSV file, piece by piece: UTF-8 with a BOM (Excel then reads Dari names right), CRLF lines."""
    resource = StatusResource()
    render = resource.row_renderer()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(resource.get_export_headers())
    yield "\ufeff" + _drain(buffer)
    batch = []
    for row in rows(status_filter):
        batch.append(row)
        if len(batch) >= 500:  # a few hundred rows a piece: fewer, larger writes to the network
            writer.writerows(map(render, batch))
            yield _drain(buffer)
            batch = []
    if batch:
        writer.writerows(map(render, batch))
        yield _drain(buffer)


def _drain(buffer):
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def xlsx_file(status_filter, progress=None):
    """The XLSX workbook in a temporary file (openpyxl's write-only mode: rows go to disk as they come).

    Dates are real date cells; text cells are neutralised and stored as text, never as formulas.
    Returns (file object positioned at 0, number of rows).
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    resource = StatusResource()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("status")
    headers = resource.get_export_headers()
    # Wide enough for what each column holds (a spreadsheet's default shows a date as "###" and cuts ids), the
    # header kept in view, and a filter on every column.
    for number, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = max(len(header), COLUMN_WIDTHS.get(header, 12)) + 2
    sheet.freeze_panes = "A2"
    sheet.append(headers)
    columns = [(POSITION[field.attribute], field.attribute in DATE_COLUMNS) for field in resource.get_export_fields()]
    written = 0
    for row in rows(status_filter):
        # Dates stay dates (date cells); text is neutralised, so no cell starts with "=" and none is a formula. A
        # control character, which the forms refuse but older data may hold, cannot be written into XLSX at all.
        sheet.append([row[p] if is_date else ILLEGAL_CHARACTERS_RE.sub("", neutralise(row[p] or ""))
                      for p, is_date in columns])
        written += 1
        if progress is not None:
            progress(written)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{written + 1}"
    output = tempfile.SpooledTemporaryFile(max_size=settings.SAFAR_EXPORT_SPOOL_BYTES)
    workbook.save(output)
    output.seek(0)
    return output, written
