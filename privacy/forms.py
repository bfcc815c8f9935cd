import datetime

from django import forms
from django.contrib.auth import get_user_model

from movements.reads import Kind


class AccessLogFilter(forms.Form):
    """The two questions, and a period: who looked at this case? what did this user look at?"""

    case = forms.CharField(required=False, max_length=30, label="Case number",
                           help_text="Who looked at this case (its page, its members' records, lists that held it).")
    user = forms.CharField(required=False, max_length=150, label="User name", help_text="What this user looked at.")
    kind = forms.ChoiceField(required=False, choices=[("", "Any"), *Kind.LABELS.items()], label="What")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_case(self):
        return self.cleaned_data["case"].strip().upper()

    def clean_user(self):
        name = self.cleaned_data["user"].strip()
        if name and not get_user_model().objects.filter(username=name).exists():
            raise forms.ValidationError(f"No user is called “{name}”.")
        return name

    def clean_since(self):
        return _plausible(self.cleaned_data["since"])

    def clean_until(self):
        return _plausible(self.cleaned_data["until"])

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The period ends before it starts.")
        return data


def _plausible(day):
    """A period's end within the years the log can hold (0001-01-01 or 9999-12-31 would overflow the time arithmetic
    that turns a day into the moments it spans)."""
    if day is not None and not EARLIEST <= day <= LATEST:
        raise forms.ValidationError(f"Give a date from {EARLIEST.year} to {LATEST.year} ({day.isoformat()} is not).")
    return day


EARLIEST, LATEST = datetime.date(2000, 1, 1), datetime.date(2999, 12, 31)


class SubjectForm(forms.Form):
    person = forms.CharField(max_length=41, label="proGres individual id",
                             help_text="As UNHCR writes it, e.g. 870-24C10001-01.")
