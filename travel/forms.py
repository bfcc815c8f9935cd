"""Departure forms: the departure's fields and its legs, times typed as the ticket shows them (local to each
airport). The forms check what one field can say; `travel.services` checks the rest and saves."""

import datetime

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from movements.countries import COUNTRY_CHOICES
from movements.forms import PrintableText, page_version_field
from movements.once import SubmittedOnceMixin
from movements.models import NOTE_MAX_LENGTH
from travel.airports import airport, unknown_airport_message
from travel.legs import LegInput, happens_twice, readings, time_zones
from travel.models import DepartureState, Mode, RuleCode

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class LocalDateTimeField(forms.Field):
    """A wall-clock date and time, kept naive: it is read in the zone of its place (the airport), not the
    mission's, by `travel.legs`."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    default_error_messages = {"invalid": "Give a date and a time, e.g. 2026-12-09 05:45."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value
        for fmt in LOCAL_FORMATS:
            try:
                parsed = datetime.datetime.strptime(str(value).strip(), fmt)
            except ValueError:
                continue
            if not 2000 <= parsed.year <= 2100:
                raise ValidationError(f"{parsed.year} is not a year a departure is planned in; check the date.")
            return parsed
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class TimeReadingMixin:
    """Which of a local time that happens twice (the night clocks go back) a leg means: `departs_fold` and
    `arrives_fold`, hidden until `travel.legs` finds such a time, then offered as a choice beside it (`ask_which`).

    A choice names the time it was made for ("2027-10-31T02:30|1"): a time changed afterwards is asked about
    afresh, never read with a choice made for another."""

    FOLDS = ("departs", "arrives")

    def add_fold_fields(self):
        for name in self.FOLDS:
            self.fields[f"{name}_fold"] = forms.CharField(label="Which one?", required=False, max_length=20,
                                                          widget=forms.HiddenInput)
        # Each choice right after its time.
        order = []
        for name in self.fields:
            if not name.endswith("_fold"):
                order.append(name)
                if name in self.FOLDS:
                    order.append(f"{name}_fold")
        self.order_fields(order)

    def ask_which(self, name, value, zone_name):
        """Offer the two readings of `value` (naive, in `zone_name`) for the time field `name`."""
        field = self.fields[f"{name}_fold"]
        choices = [(fold_value(value, fold), f"the {'first' if fold == 0 else 'second'} ({said})")
                   for fold, said in readings(value, zone_name)]
        field.widget = forms.RadioSelect(choices=choices)
        field.label = self[f"{name}_fold"].label = f"Which {value:%H:%M}?"  # the bound field has read it already

    def folds(self):
        """{"departs_fold": 0, 1 or None, …}: a choice counts only for the very time it was made for."""
        found = {}
        for name in self.FOLDS:
            chosen, when = self.cleaned_data.get(f"{name}_fold") or "", self.cleaned_data.get(name)
            found[f"{name}_fold"] = next((fold for fold in (0, 1) if when and chosen == fold_value(when, fold)),
                                         None)
        return found


def fold_value(when, fold):
    """A choice of reading as the form sends it: the wall-clock time it is for, and which (0 or 1)."""
    return f"{when:%Y-%m-%dT%H:%M}|{fold}"


def escort_users():
    return get_user_model().objects.filter(groups__name="escort", is_active=True).order_by("first_name", "username")


class DepartureForm(PrintableText, forms.Form):
    destination_country = forms.ChoiceField(choices=COUNTRY_CHOICES, initial="CAN")
    final_destination = forms.CharField(label="Final destination (city)", max_length=100,
                                        help_text="Where the families are met, e.g. Toronto.")
    seat_block = forms.IntegerField(label="Seat block", min_value=1, max_value=1000, required=False,
                                    help_text="Seats the airline holds for us (infants on a lap take none).")
    pnr = forms.CharField(label="Group record locator (PNR)", max_length=6, required=False,
                          help_text="Six letters or digits; needed before the departure is made final.")
    escorts = forms.ModelMultipleChoiceField(queryset=get_user_model().objects.none(), required=False,
                                             widget=forms.CheckboxSelectMultiple, help_text="Users in the escort group.")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=NOTE_MAX_LENGTH)
    version = page_version_field()

    def __init__(self, *args, mode=Mode.AIR, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode = mode
        self.fields["escorts"].queryset = escort_users()
        self.fields["escorts"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        if mode == Mode.ROAD:
            del self.fields["seat_block"]
            del self.fields["pnr"]
        else:
            self.fields["seat_block"].required = True

    def clean_pnr(self):
        value = self.cleaned_data["pnr"].strip().upper()
        if value and not (len(value) == 6 and value.isalnum()):
            raise ValidationError("A record locator (PNR) is six capital letters or digits, e.g. K7Q2XM.")
        return value

    def clean_final_destination(self):
        return self.cleaned_data["final_destination"].strip()


class NewDepartureForm(SubmittedOnceMixin, DepartureForm):
    """Planning a departure: saved once however often the page is sent."""


class AirLegForm(TimeReadingMixin, PrintableText, forms.Form):
    carrier = forms.CharField(label="Airline", max_length=2, help_text="IATA code, e.g. TK.")
    flight_number = forms.CharField(label="Flight", max_length=5, help_text="e.g. 255.")
    origin = forms.CharField(label="From (airport)", max_length=3, help_text="IATA code, e.g. DYU.")
    departs = LocalDateTimeField(label="Leaves (local time there)")
    destination = forms.CharField(label="To (airport)", max_length=3, help_text="IATA code, e.g. IST.")
    arrives = LocalDateTimeField(label="Lands (local time there)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_fold_fields()

    def _airport(self, name):
        code = self.cleaned_data[name].strip().upper()
        if airport(code) is None:
            raise ValidationError(unknown_airport_message(code))
        return code

    def clean_origin(self):
        return self._airport("origin")

    def clean_destination(self):
        return self._airport("destination")

    def clean_carrier(self):
        return self.cleaned_data["carrier"].strip().upper()

    def clean_flight_number(self):
        return self.cleaned_data["flight_number"].strip().upper()

    def leg_input(self):
        d = self.cleaned_data
        return LegInput(origin=d["origin"], destination=d["destination"], departs=d["departs"], arrives=d["arrives"],
                        carrier=d["carrier"], flight_number=d["flight_number"], **self.folds())


def _zone_choices():
    return [(z, z) for z in sorted(time_zones()) if "/" in z and not z.startswith(("Etc/", "SystemV/"))]


class RoadLegForm(TimeReadingMixin, PrintableText, forms.Form):
    vehicle = forms.CharField(max_length=100, help_text="e.g. Bus, white Yutong.")
    plate = forms.CharField(label="Number plate", max_length=20)
    driver = forms.CharField(max_length=100, required=False)
    seats = forms.IntegerField(label="Seats for passengers", min_value=1, max_value=100)
    origin = forms.CharField(label="From", max_length=100)
    departs = LocalDateTimeField(label="Leaves (local time)")
    destination = forms.CharField(label="To", max_length=100)
    arrives = LocalDateTimeField(label="Arrives (local time)")
    time_zone = forms.ChoiceField(label="Time zone of the road", choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _zone_choices()
        self.fields["time_zone"].initial = settings.TIME_ZONE
        self.add_fold_fields()

    def leg_input(self):
        d = self.cleaned_data
        return LegInput(origin=d["origin"], destination=d["destination"], departs=d["departs"], arrives=d["arrives"],
                        vehicle=d["vehicle"], plate=d["plate"], driver=d["driver"], seats=d["seats"],
                        time_zone=d["time_zone"], **self.folds())


class BaseLegFormSet(forms.BaseFormSet):
    """The legs in order: the rows already stored (unless removed) and the extra rows someone filled in."""

    default_error_messages = {"too_many_forms": "A departure has at most %(num)d legs (flights or vehicles): reload "
                                                "the page."}

    def _kept(self, form, index):
        if self._should_delete_form(form):
            return False
        return index < self.initial_form_count() or form.has_changed()

    def clean(self):
        if any(self.errors) or not self.management_form.is_valid():  # keep Django's "ManagementForm data is missing"
            return
        if not any(self._kept(f, i) for i, f in enumerate(self.forms)):
            raise ValidationError("Give at least one leg.")

    def filled_forms(self):
        return [f for i, f in enumerate(self.forms) if self._kept(f, i) and f.cleaned_data]

    def leg_inputs(self):
        return [f.leg_input() for f in self.filled_forms()]


def leg_formset(mode, *, extra):
    return forms.formset_factory(AirLegForm if mode == Mode.AIR else RoadLegForm, formset=BaseLegFormSet,
                                 extra=extra, can_delete=True, max_num=12, absolute_max=12, validate_max=True)


def leg_initial(leg):
    """A stored leg as its form shows it: local times where it leaves and where it arrives (and, for a local time that
    happens twice, which of the two it is)."""
    departs, arrives = leg.local_departure(), leg.local_arrival()
    initial = {"origin": leg.origin, "destination": leg.destination,
               "departs": departs.replace(tzinfo=None), "arrives": arrives.replace(tzinfo=None)}
    for name, local in (("departs", departs), ("arrives", arrives)):
        if happens_twice(local):  # which of the two it is, for that time only
            initial[f"{name}_fold"] = fold_value(local.replace(tzinfo=None), local.fold)
    if leg.carrier:
        initial.update(carrier=leg.carrier, flight_number=leg.flight_number)
    else:
        initial.update(vehicle=leg.vehicle, plate=leg.plate, driver=leg.driver, seats=leg.seats,
                       time_zone=leg.origin_tz)
    return initial


class BoardFilterForm(forms.Form):
    STATES = [("upcoming", "Upcoming (planned, open, final)"), ("all", "All")] + list(DepartureState.choices)
    state = forms.ChoiceField(choices=STATES, required=False)
    month = forms.CharField(required=False, widget=forms.DateInput(attrs={"type": "month"}),
                            help_text="Departures leaving in that month.")

    def clean_month(self):
        value = (self.cleaned_data["month"] or "").strip()
        if not value:
            return None
        try:
            month = datetime.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise ValidationError("Give a month as YYYY-MM, e.g. 2026-12.") from None
        if not 2000 <= month.year <= 2100:
            raise ValidationError("Give a month between 2000 and 2100.")
        return month


class ReasonForm(PrintableText, forms.Form):
    reason = forms.CharField(max_length=2000, required=False)

    def clean_reason(self):
        return self.cleaned_data["reason"].replace("\x00", "").strip()


class ExceptionForm(PrintableText, forms.Form):
    rule = forms.ChoiceField(choices=RuleCode.choices)
    granted_by = forms.CharField(max_length=200, label="Granted by",
                                 help_text="e.g. IRCC Resettlement Operations Centre (Ottawa).")
    reference = forms.CharField(max_length=100, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
