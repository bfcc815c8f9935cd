from django import forms

from exchange.status import FilterError, parse_filter
from movements.countries import COUNTRY_CHOICES
from movements.models import CaseState


class StatusExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV (UTF-8, opens in Excel)"), ("xlsx", "XLSX (Excel workbook)")])
    destination = forms.ChoiceField(required=False, choices=[("", "Every destination"), *COUNTRY_CHOICES])
    state = forms.ChoiceField(required=False, choices=[("", "Every state"), *CaseState.choices])
    since = forms.DateField(
        # Only YYYY-MM-DD, as the command and the API take it (and the date picker sends): Django's defaults would
        # read a typed "12/01/2026" as 1 December, a much shorter delta for an officer who meant 12 January.
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Write the date as YYYY-MM-DD, e.g. 2026-11-22."},
        required=False, label="Status changed on or after",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="For a weekly delta: the cases whose status changed since that day (mission time).",
    )

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and data.get("destination"):
            # "can" as the command and the API take it (a bookmarked or typed address), not "not a valid choice".
            data = data.copy()
            data["destination"] = data["destination"].strip().upper()
        super().__init__(data, *args, **kwargs)

    def clean(self):
        data = super().clean()
        try:
            data["filter"] = parse_filter(data.get("destination"), data.get("state"), data.get("since"))
        except FilterError as e:
            self.add_error(e.field if e.field in self.fields else None, e.message)
        return data
