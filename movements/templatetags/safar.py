from django import template

from movements.phones import international

register = template.Library()


@register.filter
def phone(value):
    """A stored phone number in international format: `+992 93 123 4567`."""
    return international(value)
