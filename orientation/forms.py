from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from movements.history import user_label
from movements.forms import PrintableText
from movements.once import SubmittedOnceMixin
from orientation.models import Session

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SessionForm(SubmittedOnceMixin, PrintableText, forms.ModelForm):
    trainers = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(), widget=forms.CheckboxSelectMultiple, required=True,
        help_text="Users in the trainer group.",
    )

    class Meta:
        model = Session
        fields = ["curriculum", "language", "location", "capacity", "trainers"]
        labels = {"language": "Language of instruction"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainers"].queryset = get_user_model().objects.filter(groups__name="trainer", is_active=True)
        self.fields["trainers"].label_from_instance = user_label
        self.fields["capacity"].initial = settings.SAFAR_ORIENTATION_CAPACITY
        for number in range(1, settings.SAFAR_ORIENTATION_DAYS + 1):
            self.fields[f"day_{number}"] = forms.DateField(label=f"Day {number}", widget=DATE_INPUT)

    @property
    def day_fields(self):
        return [self[f"day_{n}"] for n in range(1, settings.SAFAR_ORIENTATION_DAYS + 1)]

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if capacity < 1 or capacity > 200:
            raise ValidationError("A session has between 1 and 200 places.")
        return capacity

    def clean(self):
        data = super().clean()
        dates = [data.get(f"day_{n}") for n in range(1, settings.SAFAR_ORIENTATION_DAYS + 1)]
        this_year = timezone.localdate().year
        for number, day in enumerate(dates, start=1):
            if day and not this_year - 2 <= day.year <= this_year + 2:
                self.add_error(f"day_{number}", f"{day.year} is far from now; check the year.")
                dates[number - 1] = None
        for number in range(2, len(dates) + 1):
            before, day = dates[number - 2], dates[number - 1]
            if before and day and day <= before:
                self.add_error(f"day_{number}", f"Day {number} must come after day {number - 1} ({before}).")
        return data


class EnrolForm(PrintableText, forms.Form):
    case_number = forms.CharField(max_length=30, label="Case number", help_text="Enrols every eligible member.")

    def clean_case_number(self):
        return self.cleaned_data["case_number"].strip().upper()
