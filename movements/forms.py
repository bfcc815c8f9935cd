import datetime
import functools
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import router
from django.db.models.deletion import Collector, ProtectedError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from movements.once import SubmittedOnceMixin
from movements.phones import PhoneError, international, parse_phone
from movements.search import LATIN_NAME
from movements.models import (
    REASON_MAX_LENGTH, Case, CaseState, HoldCategory, MedicalExam, Person, Priority, Relationship,
    TravelDocument, TravelMedicalNeeds,
)
from movements.transitions import SPECS
from movements.words import control_character_refusal

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")



def why_refused(form, name, label):
    """What is wrong with one field of a refused form, in a sentence that names it: "the reason has 100,000
    characters; keep it to 2,000.", or "… holds a character that cannot be stored" for a NUL byte (not its length)."""
    field = form.fields[name]
    if form.has_error(name, "null_characters_not_allowed"):
        return f"{label} holds a character that cannot be stored (a NUL byte); type it again."
    if form.has_error(name, "max_length"):
        return (f"{label} has {len(form.data.get(form.add_prefix(name), '')):,} characters; keep it to "
                f"{field.max_length:,}.")
    return f"{label}: " + " ".join(form.errors.get(name, ()))


PAGE_OUT_OF_DATE = "This page was out of date: reload it and make your changes again."
ROW_OUT_OF_DATE = ("This row no longer matches what is saved (the page is out of date): reload the page and make the "
                   "change again.")


def page_version_field():
    """The version the form was drawn from (hidden): missing or garbled, the page was not drawn as Safar is now."""
    return forms.IntegerField(widget=forms.HiddenInput, required=False,
                              error_messages={"invalid": PAGE_OUT_OF_DATE, "required": PAGE_OUT_OF_DATE})


class SavedRowsFormSet(BaseInlineFormSet):
    """An inline formset whose rows' hidden ids, missing or garbled, say so in words (not "Select a valid choice"),
    as does a row count past its limit."""

    default_error_messages = {"too_many_forms": "This page takes at most %(num)d rows: reload the page. Nothing was "
                                                "saved."}

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = form.fields.get(self.model._meta.pk.name)
        if row is not None:
            row.error_messages = {**row.error_messages, "invalid_choice": ROW_OUT_OF_DATE, "required": ROW_OUT_OF_DATE,
                                  "invalid": ROW_OUT_OF_DATE}


class PrintableText:
    """A form whose text refuses control characters, as the referral import does: no name, code or note holds one,
    and they would reach printed manifests, the airline's passenger data and exports. A multi-line field keeps its
    tabs and line breaks."""

    def clean(self):
        data = super().clean()
        for name, value in list(data.items()):
            field = self.fields.get(name)
            if not isinstance(value, str) or not isinstance(field, forms.CharField):
                continue
            if refusal := control_character_refusal(value, multi_line=isinstance(field.widget, forms.Textarea)):
                self.add_error(name, refusal)
        return data


class CaseForm(PrintableText, forms.ModelForm):
    version = page_version_field()

    class Meta:
        model = Case
        fields = [
            "progres_case_id", "destination_country", "priority", "submission_category", "referral_date",
            "planned_travel_date", "notes",
        ]
        widgets = {
            "referral_date": DATE_INPUT,
            "planned_travel_date": DATE_INPUT,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "planned_travel_date": "Readiness is checked against this date (today when empty).",
        }
        labels = {"progres_case_id": "proGres case id"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def clean_progres_case_id(self):
        return self.cleaned_data["progres_case_id"].strip().upper()

    def clean_submission_category(self):
        return self.cleaned_data["submission_category"].strip().upper()

    def clean_referral_date(self):
        value = self.cleaned_data["referral_date"]
        if value and value > timezone.localdate():
            raise ValidationError("The referral date is in the future.")
        if value and value.year < 1990:
            raise ValidationError("The referral date is before 1990; check the year.")
        return value

    def clean_planned_travel_date(self):
        value = self.cleaned_data["planned_travel_date"]
        if value and "planned_travel_date" in self.changed_data and value < timezone.localdate():
            raise ValidationError("The planned travel date has passed; give a date from today on.")
        if value and value.year > timezone.localdate().year + 10:
            raise ValidationError("The planned travel date is more than ten years away; check the year.")
        return value


class CaseNotesForm(forms.ModelForm):
    """A booked or departed case: its data is fixed, operations may still keep notes."""

    version = page_version_field()

    class Meta:
        model = Case
        fields = ["notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version


def _latin_name(value):
    value = " ".join(value.split())
    if value and not LATIN_NAME.fullmatch(value):
        raise ValidationError("Write the name in Latin script, as on the travel document; the name in the person's "
                              "own script has a field of its own.")
    return value


class PersonForm(PrintableText, forms.ModelForm):
    class Meta:
        model = Person
        fields = [
            "progres_individual_id", "relationship", "family_name", "given_name", "native_name", "sex",
            "date_of_birth", "nationality", "language", "phone", "special_needs", "visa_reference",
        ]
        labels = {"progres_individual_id": "proGres individual id"}
        widgets = {
            "date_of_birth": DATE_INPUT,
            "native_name": forms.TextInput(attrs={"dir": "auto"}),
        }

    phone = forms.CharField(
        required=False, max_length=40,
        help_text="With its country code (+992 93 123 4567, 0093 70 123 4567); a number without one is read in the "
                  "mission's region (a Tajik 8 before it is understood).",
    )

    def __init__(self, *args, show_contact=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_contact:
            del self.fields["phone"]
        elif self.instance.phone:
            self.initial["phone"] = international(self.instance.phone)
        self.fields["nationality"].initial = "AFG"

    def clean_phone(self):
        text = self.cleaned_data.get("phone", "")
        if not text.strip():
            self.instance.phone_region = ""
            return ""
        if self.instance.phone and text.strip() == international(self.instance.phone):
            return str(self.instance.phone)  # unchanged, as drawn
        try:
            read = parse_phone(text)
        except PhoneError as e:
            raise ValidationError(e.message) from None
        self.instance.phone_region = read.region
        return read.e164

    def clean_progres_individual_id(self):
        return self.cleaned_data["progres_individual_id"].strip().upper()

    def clean_family_name(self):
        return _latin_name(self.cleaned_data["family_name"])

    def clean_given_name(self):
        return _latin_name(self.cleaned_data["given_name"])

    def clean_visa_reference(self):
        value = re.sub(r"[\s-]", "", self.cleaned_data.get("visa_reference", "")).upper()
        if value and not re.fullmatch(r"[A-Z0-9]{4,30}", value):
            raise ValidationError("A visa or COPR number has letters and digits only, as printed.")
        return value

    def clean_special_needs(self):
        from movements.ssr import parse_ssr

        return ";".join(parse_ssr(self.cleaned_data.get("special_needs", "")))


def protected_records(instance):
    """The kinds of records (medical exams, enrolments, …) that keep this object from being deleted."""
    collector = Collector(using=router.db_for_write(type(instance)))
    try:
        collector.collect([instance])
    except ProtectedError as e:
        return sorted({str(obj._meta.verbose_name_plural) for obj in e.protected_objects})
    return []


class BaseMemberFormSet(SavedRowsFormSet):
    default_error_messages = {"too_many_forms": "A case takes at most %(num)d members here: reload the page. Nothing "
                                                "was saved."}

    def __init__(self, *args, show_contact=True, allow_membership_changes=True, **kwargs):
        self.show_contact = show_contact
        self.allow_membership_changes = allow_membership_changes
        super().__init__(*args, **kwargs)
        if not allow_membership_changes:
            self.extra = 0
            self.can_delete = False

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["show_contact"] = self.show_contact
        return kwargs

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), empty_permitted=True,
            use_required_attribute=False, show_contact=self.show_contact,
        )
        self.add_fields(form, None)
        return form

    def validate_unique(self):
        # Django's check across the rows would report "duplicate data for progres_individual_id" before
        # clean() below can say it in words on the field itself. Ids used by other cases are still refused
        # per row, by the model's own unique check.
        pass

    def clean(self):
        super().clean()
        if any(self.errors) or not self.management_form.is_valid():  # keep Django's "ManagementForm data is missing"
            return
        members = [f for f in self.forms if f.has_changed() or f.instance.pk]
        members = [f for f in members if not (self.can_delete and self._should_delete_form(f))]
        if not self.allow_membership_changes:
            added = [f for f in self.forms if not f.instance.pk and f.has_changed()]
            if added:
                raise ValidationError("Members cannot be added to a case that is booked or has left.")
        kept = [
            f"{form.instance.full_name} cannot be removed from the case: their {', '.join(kinds)} are kept. "
            "Ask the staff who recorded them."
            for form in self.forms
            if form.instance.pk and self.can_delete and self._should_delete_form(form)
            for kinds in [protected_records(form.instance)] if kinds
        ]
        if kept:
            raise ValidationError(kept)
        if not members:
            raise ValidationError("A case needs at least one member: the principal applicant.")
        principals = [f for f in members if f.cleaned_data.get("relationship") == Relationship.PA]
        if len(principals) != 1:
            raise ValidationError(
                f"A case has exactly one principal applicant (PA); this one would have {len(principals)}."
            )
        seen = {}
        for form in members:
            individual_id = form.cleaned_data.get("progres_individual_id")
            if individual_id in seen:
                form.add_error("progres_individual_id", "This proGres individual id is used twice in this case.")
            seen[individual_id] = form


# The most rows a page's formset takes. A forged row count (members-TOTAL_FORMS=2000) would otherwise have the
# server build that many forms, each with its lists of countries and languages, for a minute and more: past the
# server's timeout, and a way to take the site down.
MAX_MEMBERS = 100
MAX_DOCUMENTS = 10
MemberFormSet = inlineformset_factory(
    Case, Person, form=PersonForm, formset=BaseMemberFormSet, extra=1, can_delete=True,
    max_num=MAX_MEMBERS, absolute_max=MAX_MEMBERS, validate_max=True,
)
# A new case: rows for a family of six; rows left empty add nobody.
NewCaseMemberFormSet = inlineformset_factory(
    Case, Person, form=PersonForm, formset=BaseMemberFormSet, extra=6, can_delete=False,
    max_num=MAX_MEMBERS, absolute_max=MAX_MEMBERS, validate_max=True,
)


class TravelDocumentForm(PrintableText, forms.ModelForm):
    # Scanners and people put spaces inside the lines: accept them here; the zone is cleaned before it is checked.
    mrz_line1 = forms.CharField(label="MRZ line 1", required=False, max_length=60, widget=forms.TextInput(
        attrs={"class": "mono", "maxlength": 60, "spellcheck": "false", "autocapitalize": "characters"}))
    mrz_line2 = forms.CharField(label="MRZ line 2", required=False, max_length=60, widget=forms.TextInput(
        attrs={"class": "mono", "maxlength": 60, "spellcheck": "false", "autocapitalize": "characters"}))

    # Old documents are recorded too (a family's history, an expired passport kept with a renewed one), but a date
    # years in the past is more often a typing slip: it is saved once the user says so.
    record_expired = forms.BooleanField(required=False, label="Record it although it has expired")

    class Meta:
        model = TravelDocument
        fields = ["document_type", "number", "issuing_country", "expiry_date", "mrz_line1", "mrz_line2"]
        widgets = {"expiry_date": DATE_INPUT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The confirmation is offered only once an expiry date in the past has been typed.
        posted = self.data.get(self.add_prefix("expiry_date")) if self.is_bound else None
        try:
            past = bool(posted) and datetime.date.fromisoformat(posted) < timezone.localdate()
        except ValueError:
            past = False
        if not past:
            self.fields["record_expired"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        expiry = data.get("expiry_date")
        if (expiry and expiry < timezone.localdate() and "expiry_date" in self.changed_data
                and not data.get("record_expired")):
            self.add_error("expiry_date", ValidationError(
                f"This document expired on {expiry.isoformat()}. If that is right (old documents are recorded too), "
                "tick “Record it although it has expired” and save again; otherwise correct the date.",
                code="expired"))
        return data

    def clean_number(self):
        return self.cleaned_data["number"].strip().upper()

    def clean_mrz_line1(self):
        from movements import mrz

        return mrz.clean_line(self.cleaned_data.get("mrz_line1"))

    def clean_mrz_line2(self):
        from movements import mrz

        return mrz.clean_line(self.cleaned_data.get("mrz_line2"))


DocumentFormSet = inlineformset_factory(
    Person, TravelDocument, form=TravelDocumentForm, formset=SavedRowsFormSet, extra=2, can_delete=True,  # a passport and a second document
    max_num=MAX_DOCUMENTS, absolute_max=MAX_DOCUMENTS, validate_max=True,
)


class TransitionForm(PrintableText, forms.Form):
    transition = forms.ChoiceField(choices=[(name, spec.label) for name, spec in SPECS.items()])
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(min_value=1)
    category = forms.ChoiceField(required=False, choices=[("", "—")] + list(HoldCategory.choices))


class CaseFilterForm(forms.Form):
    """The case list's filters. Their choices are fixed, so the <option>s of each are put together once per
    choice (`options`), not by the widget templates on every page of the list."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    state = forms.ChoiceField(required=False, choices=[("", "Any state")] + list(CaseState.choices))
    priority = forms.ChoiceField(required=False, choices=[("", "Any priority")] + list(Priority.choices))
    # Any country of the reference table (the options are the table's, put together once).
    destination = forms.CharField(required=False, max_length=3, strip=False)  # "CAN " is not a code: refused
    blockers = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("yes", "Has blockers"), ("no", "No blockers")]
    )
    show = forms.ChoiceField(
        required=False, label="Cases",
        choices=[("", "Active cases"), ("closed", "Closed (arrived, rejected, withdrawn)"), ("all", "All cases")],
    )
    flies_within = forms.IntegerField(required=False, min_value=0, max_value=366, label="Flies within (days)")
    sort = forms.ChoiceField(required=False, label="Sort by",
                             choices=[("", "Priority, then referral date"), ("travel_date", "Travel date, soonest first")])

    CHOICE_FILTERS = ("state", "priority", "destination", "blockers", "show", "sort")

    def clean_destination(self):
        from movements.countries import COUNTRIES

        code = self.cleaned_data["destination"]
        if code and code not in COUNTRIES:
            raise ValidationError(f"Select a valid choice. {code} is not one of the available choices.")
        return code

    def options(self):
        """{filter: its <option>s, the chosen one selected} for the template's <select>s."""
        return {name: _filter_options(name, self[name].value() or "") for name in self.CHOICE_FILTERS}


def _filter_choices(name):
    if name == "destination":
        from movements.countries import COUNTRY_CHOICES

        return [("", "Any destination")] + list(COUNTRY_CHOICES)
    return CaseFilterForm.base_fields[name].choices


def _filter_options(name, chosen):
    if chosen not in {value for value, _label in _filter_choices(name)}:
        chosen = ""  # a bad value was refused by the form: nothing is selected (and nothing new is cached)
    return _options_html(name, chosen)


@functools.lru_cache(maxsize=None)  # one entry per filter and choice at most (some 270)
def _options_html(name, chosen):
    return mark_safe("".join(  # noqa: S308 (each piece escaped by format_html)
        format_html('<option value="{}"{}>{}</option>', value, " selected" if value == chosen else "", label)
        for value, label in _filter_choices(name)))


def _past_moment(value):
    """A date and time that has happened, in this century (year 1 would overflow the time zone conversion)."""
    if value is None:
        return value
    if value.year < 2000:
        raise ValidationError("This date is before 2000; check the year.")
    if value > timezone.now():
        raise ValidationError("This time is in the future.")
    return value


DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def moment_field(label, help_text=""):
    # Declared on the form, so the admin (which would swap in its split date/time field) uses it as it is.
    return forms.DateTimeField(required=False, label=label, help_text=help_text, widget=DATETIME_INPUT)


class MedicalExamForm(PrintableText, forms.ModelForm):
    examined_at = moment_field(
        "Examined at (fit-to-travel checks)",
        "When the fit-to-travel check was done: it counts for boarding only within the hours before departure the "
        "mission sets (72 by default).",
    )

    class Meta:
        model = MedicalExam
        fields = ["kind", "exam_date", "examined_at", "clinic", "outcome", "tb_status", "fit_to_travel", "notes"]
        widgets = {
            "exam_date": DATE_INPUT,
            "notes": forms.Textarea(attrs={"rows": 3}),
            "fit_to_travel": forms.Select(choices=[("", "—"), ("true", "Fit to travel"), ("false", "Not fit")]),
        }
        labels = {"fit_to_travel": "Fit-to-travel result"}
        help_texts = {"notes": "Seen by medical staff only."}
        error_messages = {
            "outcome": {"invalid_choice": "Unknown outcome profile “%(value)s”: use M1, M2, M3, M4 or M5."},
            "tb_status": {"invalid_choice": "Unknown TB status “%(value)s”."},
            "kind": {"invalid_choice": "Unknown kind of examination “%(value)s”."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _blank_choice(self.fields["kind"], "— choose —")
        for name in ("outcome", "tb_status"):
            _blank_choice(self.fields[name], "—")

    def clean_exam_date(self):
        value = self.cleaned_data["exam_date"]
        if value and value > timezone.localdate():
            raise ValidationError("The exam date is in the future: record an examination once it has taken place.")
        if value and value.year < 2000:
            raise ValidationError("The exam date is before 2000; check the year.")
        return value

    def clean_examined_at(self):
        return _past_moment(self.cleaned_data.get("examined_at"))

    def clean(self):
        data = super().clean()
        # Nobody is examined before they are born: a date mistyped so would let a newborn pass as examined.
        person = data.get("person") if "person" in self.fields else (
            self.instance.person if self.instance.person_id else None)
        born = getattr(person, "date_of_birth", None)
        examined = data.get("examined_at")
        if born and data.get("exam_date") and data["exam_date"] < born:
            self.add_error("exam_date", f"The exam date {data['exam_date'].isoformat()} is before "
                                        f"{person.full_name} was born ({born.isoformat()}): check the date.")
        elif born and examined and timezone.localtime(examined).date() < born:
            self.add_error("examined_at", f"That is before {person.full_name} was born ({born.isoformat()}): "
                                          "check the date.")
        kind = data.get("kind")
        if kind == "ime" and not data.get("outcome"):
            self.add_error("outcome", "An IME has an outcome profile (M1–M5).")
        if kind == "ftt":
            if data.get("fit_to_travel") is None:
                self.add_error("fit_to_travel", "Record whether the person is fit to travel.")
            if not data.get("examined_at"):
                self.add_error("examined_at", "A fit-to-travel check needs the time it was done.")
        return data


def _blank_choice(field, label):
    """Name a select's empty choice in words ("— choose —"), as the other forms do, not Django's "---------"."""
    field.choices = [("", label)] + [choice for choice in field.choices if choice[0] != ""]


class NewMedicalExamForm(SubmittedOnceMixin, MedicalExamForm):
    """The medical page's form for a new examination: saved once however often it is sent."""


class TravelMedicalNeedsForm(forms.ModelForm):
    fit_to_fly_certificate_at = moment_field("Fit-to-fly certificate (pregnancy) issued")
    medif_recorded_at = moment_field("MEDIF sent to the airline")

    class Meta:
        model = TravelMedicalNeeds
        fields = [
            "wheelchair", "stretcher", "oxygen", "medical_escort", "pregnancy_weeks", "pregnancy_weeks_on",
            "multiple_pregnancy", "fit_to_fly_certificate_at", "medif_required", "medif_recorded_at",
        ]
        widgets = {
            "pregnancy_weeks_on": DATE_INPUT,
        }
        error_messages = {"wheelchair": {"invalid_choice": "Unknown wheelchair code “%(value)s”: use WCHR, WCHS or WCHC."}}

    MAX_PREGNANCY_WEEKS = 45

    PREGNANCY_FIELDS = ("pregnancy_weeks", "pregnancy_weeks_on", "multiple_pregnancy", "fit_to_fly_certificate_at")
    # What says a pregnancy was recorded (the date the weeks were counted on was once filled in for everyone).
    PREGNANCY_RECORDED = ("pregnancy_weeks", "multiple_pregnancy", "fit_to_fly_certificate_at")

    def __init__(self, *args, person=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person
        _blank_choice(self.fields["wheelchair"], "— none —")
        # A person recorded as male is asked nothing about a pregnancy (unless one was recorded: it stays editable).
        if person is not None and person.sex == "M" and not any(
                getattr(self.instance, name) for name in self.PREGNANCY_RECORDED):
            for name in self.PREGNANCY_FIELDS:
                del self.fields[name]
        elif not self.instance.pk:
            self.fields["pregnancy_weeks_on"].initial = timezone.localdate()

    def clean_pregnancy_weeks(self):
        weeks = self.cleaned_data.get("pregnancy_weeks")
        if weeks is not None and weeks > self.MAX_PREGNANCY_WEEKS:
            raise ValidationError(f"{weeks} weeks is not a pregnancy duration (at most {self.MAX_PREGNANCY_WEEKS}).")
        if weeks is not None and self.person is not None and self.person.sex == "M":
            raise ValidationError("This person is recorded as male; check the person or leave this empty.")
        return weeks

    def clean(self):
        data = super().clean()
        weeks, on = data.get("pregnancy_weeks"), data.get("pregnancy_weeks_on")
        if weeks is not None and on is None:
            self.add_error("pregnancy_weeks_on", "Give the date the weeks were counted on.")
        if on and on > timezone.localdate():
            self.add_error("pregnancy_weeks_on", "This date is in the future.")
        elif on and (timezone.localdate() - on).days > self.MAX_PREGNANCY_WEEKS * 7:
            self.add_error("pregnancy_weeks_on", "This date is too long ago to count pregnancy weeks from.")
        for name in ("fit_to_fly_certificate_at", "medif_recorded_at"):
            try:
                _past_moment(data.get(name))
            except ValidationError as e:
                self.add_error(name, e)
        return data
