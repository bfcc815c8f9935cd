from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils import timezone

from movements.models import Case, Person, Relationship, TravelDocument
from movements.transitions import SPECS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CaseForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

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
        return value


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = [
            "progres_individual_id", "relationship", "family_name", "given_name", "native_name", "sex",
            "date_of_birth", "nationality", "phone", "special_needs", "visa_reference",
        ]
        labels = {"progres_individual_id": "proGres individual id"}
        widgets = {
            "date_of_birth": DATE_INPUT,
            "native_name": forms.TextInput(attrs={"dir": "auto"}),
        }

    def __init__(self, *args, show_contact=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_contact:
            del self.fields["phone"]
        self.fields["nationality"].initial = "AFG"

    def clean_progres_individual_id(self):
        return self.cleaned_data["progres_individual_id"].strip().upper()

    def clean_special_needs(self):
        from movements.ssr import parse_ssr

        return ";".join(parse_ssr(self.cleaned_data.get("special_needs", "")))


class BaseMemberFormSet(BaseInlineFormSet):
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

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        members = [f for f in self.forms if f.has_changed() or f.instance.pk]
        members = [f for f in members if not (self.can_delete and self._should_delete_form(f))]
        if not self.allow_membership_changes:
            added = [f for f in self.forms if not f.instance.pk and f.has_changed()]
            if added:
                raise ValidationError("Members cannot be added to a case that is booked or has left.")
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


MemberFormSet = inlineformset_factory(
    Case, Person, form=PersonForm, formset=BaseMemberFormSet, extra=1, can_delete=True,
)


class TravelDocumentForm(forms.ModelForm):
    class Meta:
        model = TravelDocument
        fields = ["document_type", "number", "issuing_country", "expiry_date", "mrz_line1", "mrz_line2"]
        widgets = {
            "expiry_date": DATE_INPUT,
            "mrz_line1": forms.TextInput(attrs={"class": "mono", "maxlength": 44, "spellcheck": "false"}),
            "mrz_line2": forms.TextInput(attrs={"class": "mono", "maxlength": 44, "spellcheck": "false"}),
        }

    def clean_number(self):
        return self.cleaned_data["number"].strip().upper()


DocumentFormSet = inlineformset_factory(
    Person, TravelDocument, form=TravelDocumentForm, extra=1, can_delete=True,
)


class TransitionForm(forms.Form):
    transition = forms.ChoiceField(choices=[(name, spec.label) for name, spec in SPECS.items()])
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(min_value=1)


class CaseFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    state = forms.ChoiceField(required=False)
    priority = forms.ChoiceField(required=False)
    destination = forms.ChoiceField(required=False)
    blockers = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("yes", "Has blockers"), ("no", "No blockers")]
    )

    def __init__(self, *args, destinations=(), **kwargs):
        from movements.countries import country_name
        from movements.models import CaseState, Priority

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", "Any state")] + list(CaseState.choices)
        self.fields["priority"].choices = [("", "Any priority")] + list(Priority.choices)
        self.fields["destination"].choices = [("", "Any destination")] + [
            (code, country_name(code)) for code in destinations
        ]
