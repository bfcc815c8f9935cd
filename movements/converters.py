"""URL converters."""

from django.urls import register_converter


class RowId:
    """A row's id in an address: up to 18 digits, every one of which fits a 64-bit integer column. `<id:…>`
    takes any length, and a 20-digit id reached the database and failed there (a 500 on SQLite) instead of the
    404 any other id that names no row gets."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(RowId, "id")
